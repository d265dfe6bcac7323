# JVM test double of android.view.View: a type (WebView is one; setContentView takes one).
.class public Landroid/view/View;
.super Ljava/lang/Object;

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method
