# Routing rules of the player's virtual web site, https://appassets.androidplatform.net/.
# Uses java.* only (no android.*), so tests can run this very bytecode on a desktop JVM
# (dex -> jar with enjarify) and check the rules the WebView will live by.
#
#   /player/...             the built web player (APK assets/player/)
#   /bundle/<name>.glb      the default avatar (APK assets/bundle/)
#   /user/<token>/<name>    a .glb the user opened (a content:// URI, see AssetClient)
.class public final Lorg/headbake/player/Router;
.super Ljava/lang/Object;
.source "Router.smali"

.field public static final HOST:Ljava/lang/String; = "appassets.androidplatform.net"
.field public static final ORIGIN:Ljava/lang/String; = "https://appassets.androidplatform.net"
.field public static final ENTRY:Ljava/lang/String; = "/player/index.html"
.field public static final USER_PREFIX:Ljava/lang/String; = "/user/"
.field public static final OCTET:Ljava/lang/String; = "application/octet-stream"

# ";ext=mime;" pairs. Module scripts must come with a JavaScript MIME type or Chromium refuses them.
.field public static final MIME_TABLE:Ljava/lang/String; = ";html=text/html;htm=text/html;js=text/javascript;mjs=text/javascript;cjs=text/javascript;css=text/css;json=application/json;map=application/json;webmanifest=application/manifest+json;glb=model/gltf-binary;gltf=model/gltf+json;bin=application/octet-stream;onnx=application/octet-stream;wasm=application/wasm;png=image/png;jpg=image/jpeg;jpeg=image/jpeg;webp=image/webp;gif=image/gif;svg=image/svg+xml;ico=image/x-icon;ktx2=image/ktx2;txt=text/plain;glsl=text/plain;vert=text/plain;frag=text/plain;woff=font/woff;woff2=font/woff2;ttf=font/ttf;otf=font/otf;"

.method private constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

# True when (scheme, host) is the virtual site: only https on our host is served from the APK.
.method public static isLocal(Ljava/lang/String;Ljava/lang/String;)Z
    .locals 1
    const-string v0, "https"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :no
    const-string v0, "appassets.androidplatform.net"
    invoke-virtual {v0, p1}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    return v0
    :no
    const/4 v0, 0x0
    return v0
.end method

# URL path -> APK asset path ("/player/" -> "player/index.html"), or null when the path is not
# one we serve (relative, "..", backslashes, empty segments, the /user/ space).
.method public static assetPath(Ljava/lang/String;)Ljava/lang/String;
    .locals 2
    if-eqz p0, :bad
    const-string v0, "/"
    invoke-virtual {p0, v0}, Ljava/lang/String;->startsWith(Ljava/lang/String;)Z
    move-result v0
    if-eqz v0, :bad
    const-string v0, ".."
    invoke-virtual {p0, v0}, Ljava/lang/String;->contains(Ljava/lang/CharSequence;)Z
    move-result v0
    if-nez v0, :bad
    const-string v0, "\\"
    invoke-virtual {p0, v0}, Ljava/lang/String;->contains(Ljava/lang/CharSequence;)Z
    move-result v0
    if-nez v0, :bad
    const-string v0, "//"
    invoke-virtual {p0, v0}, Ljava/lang/String;->contains(Ljava/lang/CharSequence;)Z
    move-result v0
    if-nez v0, :bad
    const-string v0, "/user/"
    invoke-virtual {p0, v0}, Ljava/lang/String;->startsWith(Ljava/lang/String;)Z
    move-result v0
    if-nez v0, :bad
    const-string v0, "/"
    invoke-virtual {p0, v0}, Ljava/lang/String;->endsWith(Ljava/lang/String;)Z
    move-result v0
    if-eqz v0, :strip
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v0, p0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v1, "index.html"
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object p0
    :strip
    const/4 v0, 0x1
    invoke-virtual {p0, v0}, Ljava/lang/String;->substring(I)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :bad
    const/4 v0, 0x0
    return-object v0
.end method

# "/user/<token>/<name>" -> "<token>", else null.
.method public static documentToken(Ljava/lang/String;)Ljava/lang/String;
    .locals 2
    if-eqz p0, :none
    const-string v0, "/user/"
    invoke-virtual {p0, v0}, Ljava/lang/String;->startsWith(Ljava/lang/String;)Z
    move-result v0
    if-eqz v0, :none
    const/4 v0, 0x6
    invoke-virtual {p0, v0}, Ljava/lang/String;->substring(I)Ljava/lang/String;
    move-result-object p0
    const/16 v0, 0x2f
    invoke-virtual {p0, v0}, Ljava/lang/String;->indexOf(I)I
    move-result v0
    if-ltz v0, :whole
    const/4 v1, 0x0
    invoke-virtual {p0, v1, v0}, Ljava/lang/String;->substring(II)Ljava/lang/String;
    move-result-object p0
    :whole
    invoke-virtual {p0}, Ljava/lang/String;->isEmpty()Z
    move-result v0
    if-nez v0, :none
    return-object p0
    :none
    const/4 v0, 0x0
    return-object v0
.end method

# (token, display name) -> "/user/<token>/<safe name>".
.method public static documentPath(ILjava/lang/String;)Ljava/lang/String;
    .locals 2
    new-instance v0, Ljava/lang/StringBuilder;
    const-string v1, "/user/"
    invoke-direct {v0, v1}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v0, p0}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const/16 v1, 0x2f
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    invoke-static {p1}, Lorg/headbake/player/Router;->safeName(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

# A display name made safe for one URL path segment: [A-Za-z0-9._-] kept, anything else "_",
# at most the last 96 characters (the extension survives); "model.glb" when nothing is left.
.method public static safeName(Ljava/lang/String;)Ljava/lang/String;
    .locals 3
    if-nez p0, :have
    const-string p0, ""
    :have
    const-string v0, "[^A-Za-z0-9._-]"
    const-string v1, "_"
    invoke-virtual {p0, v0, v1}, Ljava/lang/String;->replaceAll(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;
    move-result-object p0
    invoke-virtual {p0}, Ljava/lang/String;->length()I
    move-result v0
    const/16 v1, 0x60
    if-le v0, v1, :short
    sub-int v2, v0, v1
    invoke-virtual {p0, v2}, Ljava/lang/String;->substring(I)Ljava/lang/String;
    move-result-object p0
    :short
    const-string v0, "[._-]*"
    invoke-virtual {p0, v0}, Ljava/lang/String;->matches(Ljava/lang/String;)Z
    move-result v0
    if-eqz v0, :done
    const-string p0, "model.glb"
    :done
    return-object p0
.end method

# File name -> MIME type from MIME_TABLE (case-insensitive extension), OCTET when unknown.
.method public static mimeFor(Ljava/lang/String;)Ljava/lang/String;
    .locals 4
    const/16 v0, 0x2e
    invoke-virtual {p0, v0}, Ljava/lang/String;->lastIndexOf(I)I
    move-result v0
    const/16 v1, 0x2f
    invoke-virtual {p0, v1}, Ljava/lang/String;->lastIndexOf(I)I
    move-result v1
    if-gt v0, v1, :ext
    const-string v0, "application/octet-stream"
    return-object v0
    :ext
    add-int/lit8 v0, v0, 0x1
    invoke-virtual {p0, v0}, Ljava/lang/String;->substring(I)Ljava/lang/String;
    move-result-object v0
    sget-object v1, Ljava/util/Locale;->ROOT:Ljava/util/Locale;
    invoke-virtual {v0, v1}, Ljava/lang/String;->toLowerCase(Ljava/util/Locale;)Ljava/lang/String;
    move-result-object v0
    new-instance v1, Ljava/lang/StringBuilder;
    const-string v2, ";"
    invoke-direct {v1, v2}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v1, v0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v2, "="
    invoke-virtual {v1, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    sget-object v1, Lorg/headbake/player/Router;->MIME_TABLE:Ljava/lang/String;
    invoke-virtual {v1, v0}, Ljava/lang/String;->indexOf(Ljava/lang/String;)I
    move-result v2
    if-gez v2, :found
    const-string v0, "application/octet-stream"
    return-object v0
    :found
    invoke-virtual {v0}, Ljava/lang/String;->length()I
    move-result v3
    add-int/2addr v2, v3
    const/16 v3, 0x3b
    invoke-virtual {v1, v3, v2}, Ljava/lang/String;->indexOf(II)I
    move-result v3
    invoke-virtual {v1, v2, v3}, Ljava/lang/String;->substring(II)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

# Charset announced with a MIME type: utf-8 for text, null (none) for binary data.
.method public static charsetFor(Ljava/lang/String;)Ljava/lang/String;
    .locals 1
    const-string v0, "text/"
    invoke-virtual {p0, v0}, Ljava/lang/String;->startsWith(Ljava/lang/String;)Z
    move-result v0
    if-nez v0, :text
    const-string v0, "+json"
    invoke-virtual {p0, v0}, Ljava/lang/String;->endsWith(Ljava/lang/String;)Z
    move-result v0
    if-nez v0, :text
    const-string v0, "application/json"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-nez v0, :text
    const-string v0, "image/svg+xml"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-nez v0, :text
    const/4 v0, 0x0
    return-object v0
    :text
    const-string v0, "utf-8"
    return-object v0
.end method

# HTTP reason phrase for the status codes we answer with (WebResourceResponse needs one).
.method public static reasonFor(I)Ljava/lang/String;
    .locals 1
    const/16 v0, 0xc8
    if-ne p0, v0, :not200
    const-string v0, "OK"
    return-object v0
    :not200
    const/16 v0, 0x193
    if-ne p0, v0, :not403
    const-string v0, "Forbidden"
    return-object v0
    :not403
    const/16 v0, 0x194
    if-ne p0, v0, :not404
    const-string v0, "Not Found"
    return-object v0
    :not404
    const/16 v0, 0x195
    if-ne p0, v0, :other
    const-string v0, "Method Not Allowed"
    return-object v0
    :other
    const-string v0, "Error"
    return-object v0
.end method

# Names in assets/bundle/ -> "/bundle/<first .glb in sorted order>", or null when there is none.
.method public static defaultBundle([Ljava/lang/String;)Ljava/lang/String;
    .locals 6
    const/4 v0, 0x0
    if-eqz p0, :none
    array-length v1, p0
    const/4 v2, 0x0
    :loop
    if-ge v2, v1, :end
    aget-object v3, p0, v2
    sget-object v4, Ljava/util/Locale;->ROOT:Ljava/util/Locale;
    invoke-virtual {v3, v4}, Ljava/lang/String;->toLowerCase(Ljava/util/Locale;)Ljava/lang/String;
    move-result-object v4
    const-string v5, ".glb"
    invoke-virtual {v4, v5}, Ljava/lang/String;->endsWith(Ljava/lang/String;)Z
    move-result v4
    if-eqz v4, :next
    if-eqz v0, :take
    invoke-virtual {v3, v0}, Ljava/lang/String;->compareTo(Ljava/lang/String;)I
    move-result v4
    if-gez v4, :next
    :take
    move-object v0, v3
    :next
    add-int/lit8 v2, v2, 0x1
    goto :loop
    :end
    if-eqz v0, :none
    new-instance v1, Ljava/lang/StringBuilder;
    const-string v2, "/bundle/"
    invoke-direct {v1, v2}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v1, v0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
    :none
    const/4 v0, 0x0
    return-object v0
.end method

# The page to load: the player's entry, with ?bundle=<absolute URL> when a bundle path is given.
.method public static playerUrl(Ljava/lang/String;)Ljava/lang/String;
    .locals 3
    new-instance v0, Ljava/lang/StringBuilder;
    const-string v1, "https://appassets.androidplatform.net/player/index.html"
    invoke-direct {v0, v1}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    if-eqz p0, :done
    const-string v1, "?bundle="
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    new-instance v1, Ljava/lang/StringBuilder;
    const-string v2, "https://appassets.androidplatform.net"
    invoke-direct {v1, v2}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v1, p0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    const-string v2, "UTF-8"
    invoke-static {v1, v2}, Ljava/net/URLEncoder;->encode(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    :done
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method
