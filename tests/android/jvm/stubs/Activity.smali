# JVM test double of android.app.Activity: a Context, so PlayerActivity links and verifies.
.class public Landroid/app/Activity;
.super Landroid/content/Context;
