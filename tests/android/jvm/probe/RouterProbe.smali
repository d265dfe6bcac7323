# main(args): args are (method, argument) pairs; prints one result line per pair ("null" for null).
# Multi-value arguments are comma-separated: isLocal "scheme,host", documentPath "n,name",
# defaultBundle "a.glb,b.txt".
.class public final Lorg/headbake/test/RouterProbe;
.super Ljava/lang/Object;

.method public static main([Ljava/lang/String;)V
    .locals 6
    const/4 v0, 0x0
    array-length v1, p0
    :loop
    if-ge v0, v1, :end
    aget-object v2, p0, v0
    add-int/lit8 v3, v0, 0x1
    aget-object v3, p0, v3
    invoke-static {v2, v3}, Lorg/headbake/test/RouterProbe;->call(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v4
    invoke-static {v4}, Ljava/lang/String;->valueOf(Ljava/lang/Object;)Ljava/lang/String;
    move-result-object v4
    sget-object v5, Ljava/lang/System;->out:Ljava/io/PrintStream;
    invoke-virtual {v5, v4}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    add-int/lit8 v0, v0, 0x2
    goto :loop
    :end
    return-void
.end method

.method private static call(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/Object;
    .locals 4
    const-string v0, "null"
    invoke-virtual {v0, p1}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :arg
    const/4 p1, 0x0
    :arg
    const-string v0, "mimeFor"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n1
    invoke-static {p1}, Lorg/headbake/player/Router;->mimeFor(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n1
    const-string v0, "assetPath"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n2
    invoke-static {p1}, Lorg/headbake/player/Router;->assetPath(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n2
    const-string v0, "documentToken"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n3
    invoke-static {p1}, Lorg/headbake/player/Router;->documentToken(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n3
    const-string v0, "safeName"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n4
    invoke-static {p1}, Lorg/headbake/player/Router;->safeName(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n4
    const-string v0, "playerUrl"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n5
    invoke-static {p1}, Lorg/headbake/player/Router;->playerUrl(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n5
    const-string v0, "charsetFor"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n6
    invoke-static {p1}, Lorg/headbake/player/Router;->charsetFor(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n6
    const-string v0, "reasonFor"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n7
    invoke-static {p1}, Ljava/lang/Integer;->parseInt(Ljava/lang/String;)I
    move-result v0
    invoke-static {v0}, Lorg/headbake/player/Router;->reasonFor(I)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n7
    const-string v0, "defaultBundle"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n8
    const/4 v0, 0x0
    if-eqz p1, :list
    const-string v0, ","
    invoke-virtual {p1, v0}, Ljava/lang/String;->split(Ljava/lang/String;)[Ljava/lang/String;
    move-result-object v0
    :list
    invoke-static {v0}, Lorg/headbake/player/Router;->defaultBundle([Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :n8
    const-string v0, "isLocal"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :n9
    const-string v0, ","
    const/4 v1, -0x1
    invoke-virtual {p1, v0, v1}, Ljava/lang/String;->split(Ljava/lang/String;I)[Ljava/lang/String;
    move-result-object v0
    const/4 v1, 0x0
    aget-object v1, v0, v1
    const/4 v2, 0x1
    aget-object v2, v0, v2
    invoke-static {v1, v2}, Lorg/headbake/player/Router;->isLocal(Ljava/lang/String;Ljava/lang/String;)Z
    move-result v0
    invoke-static {v0}, Ljava/lang/Boolean;->valueOf(Z)Ljava/lang/Boolean;
    move-result-object v0
    return-object v0
    :n9
    const-string v0, "documentPath"
    invoke-virtual {v0, p0}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :unknown
    const-string v0, ","
    const/4 v1, 0x2
    invoke-virtual {p1, v0, v1}, Ljava/lang/String;->split(Ljava/lang/String;I)[Ljava/lang/String;
    move-result-object v0
    const/4 v1, 0x0
    aget-object v1, v0, v1
    invoke-static {v1}, Ljava/lang/Integer;->parseInt(Ljava/lang/String;)I
    move-result v1
    const/4 v2, 0x1
    aget-object v2, v0, v2
    invoke-static {v1, v2}, Lorg/headbake/player/Router;->documentPath(ILjava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
    :unknown
    new-instance v0, Ljava/lang/IllegalArgumentException;
    invoke-direct {v0, p0}, Ljava/lang/IllegalArgumentException;-><init>(Ljava/lang/String;)V
    throw v0
.end method
