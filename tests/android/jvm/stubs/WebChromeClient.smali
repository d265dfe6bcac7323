# JVM test double of android.webkit.WebChromeClient (ChromeClient extends it).
.class public Landroid/webkit/WebChromeClient;
.super Ljava/lang/Object;

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method
