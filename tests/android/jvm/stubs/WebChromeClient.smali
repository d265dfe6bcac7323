# JVM test double of android.webkit.WebChromeClient: a type only, so ChromeClient links and verifies.
.class public Landroid/webkit/WebChromeClient;
.super Ljava/lang/Object;
