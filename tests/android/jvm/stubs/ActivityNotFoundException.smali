# JVM test double of android.content.ActivityNotFoundException (a RuntimeException, caught by PlayerActivity).
.class public Landroid/content/ActivityNotFoundException;
.super Ljava/lang/RuntimeException;
