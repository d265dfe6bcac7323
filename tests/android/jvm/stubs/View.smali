# JVM test double of android.view.View: a type only (WebView is one; setContentView takes one).
.class public Landroid/view/View;
.super Ljava/lang/Object;
