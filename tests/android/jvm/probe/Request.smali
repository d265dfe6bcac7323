# A WebResourceRequest for the JVM probe: a method and a URL.
.class public final Lorg/headbake/test/Request;
.super Ljava/lang/Object;
.implements Landroid/webkit/WebResourceRequest;

.field private final method:Ljava/lang/String;
.field private final url:Landroid/net/Uri;

.method public constructor <init>(Ljava/lang/String;Landroid/net/Uri;)V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Lorg/headbake/test/Request;->method:Ljava/lang/String;
    iput-object p2, p0, Lorg/headbake/test/Request;->url:Landroid/net/Uri;
    return-void
.end method

.method public getMethod()Ljava/lang/String;
    .locals 1
    iget-object v0, p0, Lorg/headbake/test/Request;->method:Ljava/lang/String;
    return-object v0
.end method

.method public getUrl()Landroid/net/Uri;
    .locals 1
    iget-object v0, p0, Lorg/headbake/test/Request;->url:Landroid/net/Uri;
    return-object v0
.end method
