# main(assetsDir, then (command, a, b) triples) drives the app's AssetClient on the JVM:
#   <HTTP method> url outFile   shouldInterceptRequest: prints "status<TAB>mime<TAB>charset<TAB>reason"
#                               ("passthrough" for null) and writes the body to outFile
#   REGISTER contentUri name    register(): prints the virtual path
#   OVERRIDE url -              shouldOverrideUrlLoading(): prints true/false
#   DEFAULT - -                 defaultBundle(): prints the path or null
# In the app's package because AssetClient is package-private.
.class public final Lorg/headbake/player/ClientProbe;
.super Ljava/lang/Object;

.method public static main([Ljava/lang/String;)V
    .locals 10
    new-instance v0, Lorg/headbake/player/AssetClient;
    new-instance v1, Landroid/content/Context;
    new-instance v2, Ljava/io/File;
    const/4 v3, 0x0
    aget-object v3, p0, v3
    invoke-direct {v2, v3}, Ljava/io/File;-><init>(Ljava/lang/String;)V
    invoke-direct {v1, v2}, Landroid/content/Context;-><init>(Ljava/io/File;)V
    invoke-direct {v0, v1}, Lorg/headbake/player/AssetClient;-><init>(Landroid/content/Context;)V
    sget-object v9, Ljava/lang/System;->out:Ljava/io/PrintStream;
    const/4 v1, 0x1
    array-length v2, p0
    :loop
    add-int/lit8 v3, v1, 0x2
    if-lt v3, v2, :more
    return-void
    :more
    aget-object v3, p0, v1
    add-int/lit8 v4, v1, 0x1
    aget-object v4, p0, v4
    add-int/lit8 v5, v1, 0x2
    aget-object v5, p0, v5
    add-int/lit8 v1, v1, 0x3

    const-string v6, "REGISTER"
    invoke-virtual {v6, v3}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v6
    if-eqz v6, :not_register
    invoke-static {v4}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object v6
    invoke-virtual {v0, v6, v5}, Lorg/headbake/player/AssetClient;->register(Landroid/net/Uri;Ljava/lang/String;)Ljava/lang/String;
    move-result-object v6
    invoke-virtual {v9, v6}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    goto :loop
    :not_register

    const-string v6, "DEFAULT"
    invoke-virtual {v6, v3}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v6
    if-eqz v6, :not_default
    invoke-virtual {v0}, Lorg/headbake/player/AssetClient;->defaultBundle()Ljava/lang/String;
    move-result-object v6
    invoke-static {v6}, Ljava/lang/String;->valueOf(Ljava/lang/Object;)Ljava/lang/String;
    move-result-object v6
    invoke-virtual {v9, v6}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    goto :loop
    :not_default

    new-instance v6, Lorg/headbake/test/Request;
    invoke-static {v4}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object v7
    const-string v8, "OVERRIDE"
    invoke-virtual {v8, v3}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v8
    if-eqz v8, :request
    const-string v3, "GET"
    invoke-direct {v6, v3, v7}, Lorg/headbake/test/Request;-><init>(Ljava/lang/String;Landroid/net/Uri;)V
    const/4 v7, 0x0
    invoke-virtual {v0, v7, v6}, Lorg/headbake/player/AssetClient;->shouldOverrideUrlLoading(Landroid/webkit/WebView;Landroid/webkit/WebResourceRequest;)Z
    move-result v6
    invoke-virtual {v9, v6}, Ljava/io/PrintStream;->println(Z)V
    goto :loop

    :request
    invoke-direct {v6, v3, v7}, Lorg/headbake/test/Request;-><init>(Ljava/lang/String;Landroid/net/Uri;)V
    const/4 v7, 0x0
    invoke-virtual {v0, v7, v6}, Lorg/headbake/player/AssetClient;->shouldInterceptRequest(Landroid/webkit/WebView;Landroid/webkit/WebResourceRequest;)Landroid/webkit/WebResourceResponse;
    move-result-object v6
    if-nez v6, :answered
    const-string v6, "passthrough"
    invoke-virtual {v9, v6}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    goto :loop
    :answered
    new-instance v7, Ljava/lang/StringBuilder;
    invoke-direct {v7}, Ljava/lang/StringBuilder;-><init>()V
    iget v8, v6, Landroid/webkit/WebResourceResponse;->status:I
    invoke-virtual {v7, v8}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const/16 v8, 0x9
    invoke-virtual {v7, v8}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    iget-object v3, v6, Landroid/webkit/WebResourceResponse;->mime:Ljava/lang/String;
    invoke-virtual {v7, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v7, v8}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    iget-object v3, v6, Landroid/webkit/WebResourceResponse;->encoding:Ljava/lang/String;
    invoke-virtual {v7, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v7, v8}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    iget-object v3, v6, Landroid/webkit/WebResourceResponse;->reason:Ljava/lang/String;
    invoke-virtual {v7, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v7}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v7
    invoke-virtual {v9, v7}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    new-instance v7, Ljava/io/FileOutputStream;
    invoke-direct {v7, v5}, Ljava/io/FileOutputStream;-><init>(Ljava/lang/String;)V
    iget-object v3, v6, Landroid/webkit/WebResourceResponse;->data:Ljava/io/InputStream;
    invoke-virtual {v3, v7}, Ljava/io/InputStream;->transferTo(Ljava/io/OutputStream;)J
    invoke-virtual {v3}, Ljava/io/InputStream;->close()V
    invoke-virtual {v7}, Ljava/io/FileOutputStream;->close()V
    goto :loop
.end method
