# JVM test double of android.webkit.WebSettings: a type only, so PlayerActivity links and verifies.
.class public abstract Landroid/webkit/WebSettings;
.super Ljava/lang/Object;
