# JVM test double of android.net.Uri: parsed by java.net.URI; getPath() is decoded, as on Android.
.class public Landroid/net/Uri;
.super Ljava/lang/Object;
.implements Landroid/os/Parcelable;

.field private final uri:Ljava/net/URI;

.method private constructor <init>(Ljava/net/URI;)V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Landroid/net/Uri;->uri:Ljava/net/URI;
    return-void
.end method

.method public static parse(Ljava/lang/String;)Landroid/net/Uri;
    .locals 2
    new-instance v0, Landroid/net/Uri;
    invoke-static {p0}, Ljava/net/URI;->create(Ljava/lang/String;)Ljava/net/URI;
    move-result-object v1
    invoke-direct {v0, v1}, Landroid/net/Uri;-><init>(Ljava/net/URI;)V
    return-object v0
.end method

.method public getScheme()Ljava/lang/String;
    .locals 1
    iget-object v0, p0, Landroid/net/Uri;->uri:Ljava/net/URI;
    invoke-virtual {v0}, Ljava/net/URI;->getScheme()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public getHost()Ljava/lang/String;
    .locals 1
    iget-object v0, p0, Landroid/net/Uri;->uri:Ljava/net/URI;
    invoke-virtual {v0}, Ljava/net/URI;->getHost()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public getPath()Ljava/lang/String;
    .locals 1
    iget-object v0, p0, Landroid/net/Uri;->uri:Ljava/net/URI;
    invoke-virtual {v0}, Ljava/net/URI;->getPath()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public toString()Ljava/lang/String;
    .locals 1
    iget-object v0, p0, Landroid/net/Uri;->uri:Ljava/net/URI;
    invoke-virtual {v0}, Ljava/net/URI;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public getLastPathSegment()Ljava/lang/String;
    .locals 2
    invoke-virtual {p0}, Landroid/net/Uri;->getPath()Ljava/lang/String;
    move-result-object v0
    const/16 v1, 0x2f
    invoke-virtual {v0, v1}, Ljava/lang/String;->lastIndexOf(I)I
    move-result v1
    add-int/lit8 v1, v1, 0x1
    invoke-virtual {v0, v1}, Ljava/lang/String;->substring(I)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method
