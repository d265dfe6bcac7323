# JVM test double of android.webkit.WebView: a type only (the probe passes null).
.class public Landroid/webkit/WebView;
.super Ljava/lang/Object;
