# JVM test double of android.webkit.WebViewClient (only the constructor is used).
.class public Landroid/webkit/WebViewClient;
.super Ljava/lang/Object;

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method
