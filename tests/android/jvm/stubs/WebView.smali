# JVM test double of android.webkit.WebView: a type only (a View; the probe passes null).
.class public Landroid/webkit/WebView;
.super Landroid/view/View;
