# The WebView's only source of content: serves the virtual site https://appassets.androidplatform.net/
# from the APK's assets and from the .glb files the user opened; refuses every other http(s) request
# (the app has no INTERNET permission and the player needs none). Module scripts work because the
# page is a real https origin, not file://. Routing rules live in Router (desktop-testable).
.class final Lorg/headbake/player/AssetClient;
.super Landroid/webkit/WebViewClient;
.source "AssetClient.smali"

.field private final assets:Landroid/content/res/AssetManager;
.field private final resolver:Landroid/content/ContentResolver;
# token (String) -> content:// Uri the user granted us; read on WebView IO threads, so concurrent.
.field private final documents:Ljava/util/concurrent/ConcurrentHashMap;
# last token handed out (main thread only)
.field private next:I

.method public constructor <init>(Landroid/content/Context;)V
    .locals 1
    invoke-direct {p0}, Landroid/webkit/WebViewClient;-><init>()V
    invoke-virtual {p1}, Landroid/content/Context;->getAssets()Landroid/content/res/AssetManager;
    move-result-object v0
    iput-object v0, p0, Lorg/headbake/player/AssetClient;->assets:Landroid/content/res/AssetManager;
    invoke-virtual {p1}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v0
    iput-object v0, p0, Lorg/headbake/player/AssetClient;->resolver:Landroid/content/ContentResolver;
    new-instance v0, Ljava/util/concurrent/ConcurrentHashMap;
    invoke-direct {v0}, Ljava/util/concurrent/ConcurrentHashMap;-><init>()V
    iput-object v0, p0, Lorg/headbake/player/AssetClient;->documents:Ljava/util/concurrent/ConcurrentHashMap;
    return-void
.end method

# "/bundle/<name>.glb" for the bundled default avatar, or null when the APK carries none.
.method public defaultBundle()Ljava/lang/String;
    .locals 2
    :try_start
    iget-object v0, p0, Lorg/headbake/player/AssetClient;->assets:Landroid/content/res/AssetManager;
    const-string v1, "bundle"
    invoke-virtual {v0, v1}, Landroid/content/res/AssetManager;->list(Ljava/lang/String;)[Ljava/lang/String;
    move-result-object v0
    :try_end
    .catch Ljava/io/IOException; {:try_start .. :try_end} :failed
    invoke-static {v0}, Lorg/headbake/player/Router;->defaultBundle([Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :failed
    const/4 v0, 0x0
    return-object v0
.end method

# Makes a user-chosen document reachable by the page; returns its virtual path "/user/<n>/<name>".
.method public register(Landroid/net/Uri;Ljava/lang/String;)Ljava/lang/String;
    .locals 3
    iget v0, p0, Lorg/headbake/player/AssetClient;->next:I
    add-int/lit8 v0, v0, 0x1
    iput v0, p0, Lorg/headbake/player/AssetClient;->next:I
    invoke-static {v0}, Ljava/lang/String;->valueOf(I)Ljava/lang/String;
    move-result-object v1
    iget-object v2, p0, Lorg/headbake/player/AssetClient;->documents:Ljava/util/concurrent/ConcurrentHashMap;
    invoke-virtual {v2, v1, p1}, Ljava/util/concurrent/ConcurrentHashMap;->put(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;
    invoke-static {v0, p2}, Lorg/headbake/player/Router;->documentPath(ILjava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public shouldInterceptRequest(Landroid/webkit/WebView;Landroid/webkit/WebResourceRequest;)Landroid/webkit/WebResourceResponse;
    .locals 3
    invoke-interface {p2}, Landroid/webkit/WebResourceRequest;->getUrl()Landroid/net/Uri;
    move-result-object v0
    invoke-virtual {v0}, Landroid/net/Uri;->getScheme()Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0}, Landroid/net/Uri;->getHost()Ljava/lang/String;
    move-result-object v2
    invoke-static {v1, v2}, Lorg/headbake/player/Router;->isLocal(Ljava/lang/String;Ljava/lang/String;)Z
    move-result v2
    if-nez v2, :local
    # data:, blob: and the like stay with the WebView; any http(s) elsewhere is refused.
    const-string v2, "http"
    invoke-virtual {v2, v1}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v2
    if-nez v2, :refuse
    const-string v2, "https"
    invoke-virtual {v2, v1}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v2
    if-nez v2, :refuse
    const/4 v0, 0x0
    return-object v0
    :refuse
    const/16 v1, 0x193
    const-string v2, "headbake player: network access is disabled"
    invoke-static {v1, v2}, Lorg/headbake/player/AssetClient;->error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v0
    return-object v0
    :local
    invoke-interface {p2}, Landroid/webkit/WebResourceRequest;->getMethod()Ljava/lang/String;
    move-result-object v1
    const-string v2, "GET"
    invoke-virtual {v2, v1}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v2
    if-nez v2, :get
    const/16 v1, 0x195
    const-string v2, "headbake player: only GET is served"
    invoke-static {v1, v2}, Lorg/headbake/player/AssetClient;->error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v0
    return-object v0
    :get
    invoke-virtual {v0}, Landroid/net/Uri;->getPath()Ljava/lang/String;
    move-result-object v1
    invoke-static {v1}, Lorg/headbake/player/Router;->documentToken(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v2
    if-eqz v2, :asset
    invoke-direct {p0, v2}, Lorg/headbake/player/AssetClient;->serveDocument(Ljava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v0
    return-object v0
    :asset
    invoke-direct {p0, v1}, Lorg/headbake/player/AssetClient;->serveAsset(Ljava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v0
    return-object v0
.end method

# Top-level navigation stays on the virtual site; links elsewhere are ignored (no browser hand-off).
.method public shouldOverrideUrlLoading(Landroid/webkit/WebView;Landroid/webkit/WebResourceRequest;)Z
    .locals 2
    invoke-interface {p2}, Landroid/webkit/WebResourceRequest;->getUrl()Landroid/net/Uri;
    move-result-object v0
    invoke-virtual {v0}, Landroid/net/Uri;->getScheme()Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0}, Landroid/net/Uri;->getHost()Ljava/lang/String;
    move-result-object v0
    invoke-static {v1, v0}, Lorg/headbake/player/Router;->isLocal(Ljava/lang/String;Ljava/lang/String;)Z
    move-result v0
    if-nez v0, :local
    const/4 v0, 0x1
    return v0
    :local
    const/4 v0, 0x0
    return v0
.end method

.method private serveAsset(Ljava/lang/String;)Landroid/webkit/WebResourceResponse;
    .locals 3
    invoke-static {p1}, Lorg/headbake/player/Router;->assetPath(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    if-nez v0, :valid
    const/16 v1, 0x194
    const-string v2, "headbake player: not a valid path"
    invoke-static {v1, v2}, Lorg/headbake/player/AssetClient;->error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v1
    return-object v1
    :valid
    :try_start
    iget-object v1, p0, Lorg/headbake/player/AssetClient;->assets:Landroid/content/res/AssetManager;
    invoke-virtual {v1, v0}, Landroid/content/res/AssetManager;->open(Ljava/lang/String;)Ljava/io/InputStream;
    move-result-object v1
    :try_end
    .catch Ljava/io/IOException; {:try_start .. :try_end} :missing
    invoke-static {v0}, Lorg/headbake/player/Router;->mimeFor(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    invoke-static {v0, v1}, Lorg/headbake/player/AssetClient;->ok(Ljava/lang/String;Ljava/io/InputStream;)Landroid/webkit/WebResourceResponse;
    move-result-object v0
    return-object v0
    :missing
    new-instance v1, Ljava/lang/StringBuilder;
    const-string v2, "headbake player: not in the APK: "
    invoke-direct {v1, v2}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v1, v0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    const/16 v2, 0x194
    invoke-static {v2, v1}, Lorg/headbake/player/AssetClient;->error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v1
    return-object v1
.end method

.method private serveDocument(Ljava/lang/String;)Landroid/webkit/WebResourceResponse;
    .locals 3
    iget-object v0, p0, Lorg/headbake/player/AssetClient;->documents:Ljava/util/concurrent/ConcurrentHashMap;
    invoke-virtual {v0, p1}, Ljava/util/concurrent/ConcurrentHashMap;->get(Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/net/Uri;
    if-nez v0, :known
    const/16 v1, 0x194
    const-string v2, "headbake player: this file is no longer available, open it again"
    invoke-static {v1, v2}, Lorg/headbake/player/AssetClient;->error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v1
    return-object v1
    :known
    :try_start
    iget-object v1, p0, Lorg/headbake/player/AssetClient;->resolver:Landroid/content/ContentResolver;
    invoke-virtual {v1, v0}, Landroid/content/ContentResolver;->openInputStream(Landroid/net/Uri;)Ljava/io/InputStream;
    move-result-object v1
    :try_end
    .catch Ljava/lang/Exception; {:try_start .. :try_end} :unreadable
    if-nez v1, :opened
    const/16 v1, 0x194
    const-string v2, "headbake player: the chosen file could not be opened"
    invoke-static {v1, v2}, Lorg/headbake/player/AssetClient;->error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v1
    return-object v1
    :opened
    const-string v0, "model/gltf-binary"
    invoke-static {v0, v1}, Lorg/headbake/player/AssetClient;->ok(Ljava/lang/String;Ljava/io/InputStream;)Landroid/webkit/WebResourceResponse;
    move-result-object v0
    return-object v0
    :unreadable
    move-exception v1
    new-instance v2, Ljava/lang/StringBuilder;
    const-string v0, "headbake player: cannot read the chosen file: "
    invoke-direct {v2, v0}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v2, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/Object;)Ljava/lang/StringBuilder;
    invoke-virtual {v2}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v2
    const/16 v1, 0x194
    invoke-static {v1, v2}, Lorg/headbake/player/AssetClient;->error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    move-result-object v1
    return-object v1
.end method

# 200 response streaming `data`, with the MIME type's charset and no caching of stale bundles.
.method private static ok(Ljava/lang/String;Ljava/io/InputStream;)Landroid/webkit/WebResourceResponse;
    .locals 8
    new-instance v6, Ljava/util/HashMap;
    invoke-direct {v6}, Ljava/util/HashMap;-><init>()V
    const-string v0, "Cache-Control"
    const-string v2, "no-cache"
    invoke-virtual {v6, v0, v2}, Ljava/util/HashMap;->put(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;
    new-instance v1, Landroid/webkit/WebResourceResponse;
    move-object v2, p0
    invoke-static {p0}, Lorg/headbake/player/Router;->charsetFor(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v3
    const/16 v4, 0xc8
    invoke-static {v4}, Lorg/headbake/player/Router;->reasonFor(I)Ljava/lang/String;
    move-result-object v5
    move-object v7, p1
    invoke-direct/range {v1 .. v7}, Landroid/webkit/WebResourceResponse;-><init>(Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;Ljava/util/Map;Ljava/io/InputStream;)V
    return-object v1
.end method

# Plain-text error response; the player shows its "could not load" message for it.
.method private static error(ILjava/lang/String;)Landroid/webkit/WebResourceResponse;
    .locals 8
    new-instance v6, Ljava/util/HashMap;
    invoke-direct {v6}, Ljava/util/HashMap;-><init>()V
    new-instance v7, Ljava/io/ByteArrayInputStream;
    sget-object v0, Ljava/nio/charset/StandardCharsets;->UTF_8:Ljava/nio/charset/Charset;
    invoke-virtual {p1, v0}, Ljava/lang/String;->getBytes(Ljava/nio/charset/Charset;)[B
    move-result-object v0
    invoke-direct {v7, v0}, Ljava/io/ByteArrayInputStream;-><init>([B)V
    new-instance v1, Landroid/webkit/WebResourceResponse;
    const-string v2, "text/plain"
    const-string v3, "utf-8"
    move v4, p0
    invoke-static {p0}, Lorg/headbake/player/Router;->reasonFor(I)Ljava/lang/String;
    move-result-object v5
    invoke-direct/range {v1 .. v7}, Landroid/webkit/WebResourceResponse;-><init>(Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;Ljava/util/Map;Ljava/io/InputStream;)V
    return-object v1
.end method
