# JVM test double of android.webkit.WebResourceResponse: keeps what it is given in public fields
# and enforces the documented contract of the 6-argument constructor (status code in 100-299 or
# 400-599, non-empty reason phrase), which the real class checks with IllegalArgumentException.
.class public Landroid/webkit/WebResourceResponse;
.super Ljava/lang/Object;

.field public mime:Ljava/lang/String;
.field public encoding:Ljava/lang/String;
.field public status:I
.field public reason:Ljava/lang/String;
.field public headers:Ljava/util/Map;
.field public data:Ljava/io/InputStream;

.method public constructor <init>(Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;Ljava/util/Map;Ljava/io/InputStream;)V
    .locals 2
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    const/16 v0, 0x64
    if-lt p3, v0, :bad_status
    const/16 v0, 0x12b
    if-le p3, v0, :status_ok
    const/16 v0, 0x190
    if-lt p3, v0, :bad_status
    const/16 v0, 0x257
    if-gt p3, v0, :bad_status
    :status_ok
    if-eqz p4, :bad_reason
    invoke-virtual {p4}, Ljava/lang/String;->isEmpty()Z
    move-result v0
    if-nez v0, :bad_reason
    iput-object p1, p0, Landroid/webkit/WebResourceResponse;->mime:Ljava/lang/String;
    iput-object p2, p0, Landroid/webkit/WebResourceResponse;->encoding:Ljava/lang/String;
    iput p3, p0, Landroid/webkit/WebResourceResponse;->status:I
    iput-object p4, p0, Landroid/webkit/WebResourceResponse;->reason:Ljava/lang/String;
    iput-object p5, p0, Landroid/webkit/WebResourceResponse;->headers:Ljava/util/Map;
    iput-object p6, p0, Landroid/webkit/WebResourceResponse;->data:Ljava/io/InputStream;
    return-void
    :bad_status
    new-instance v0, Ljava/lang/IllegalArgumentException;
    const-string v1, "statusCode must be in [100, 299] or [400, 599]"
    invoke-direct {v0, v1}, Ljava/lang/IllegalArgumentException;-><init>(Ljava/lang/String;)V
    throw v0
    :bad_reason
    new-instance v0, Ljava/lang/IllegalArgumentException;
    const-string v1, "reasonPhrase must be non-empty"
    invoke-direct {v0, v1}, Ljava/lang/IllegalArgumentException;-><init>(Ljava/lang/String;)V
    throw v0
.end method
