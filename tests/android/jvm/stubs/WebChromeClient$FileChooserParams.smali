# JVM test double of WebChromeClient.FileChooserParams: parseResult as documented (the data Uri of
# a RESULT_OK result, else null).
.class public abstract Landroid/webkit/WebChromeClient$FileChooserParams;
.super Ljava/lang/Object;

.method public static parseResult(ILandroid/content/Intent;)[Landroid/net/Uri;
    .locals 2
    const/4 v0, -0x1
    if-ne p0, v0, :none
    if-eqz p1, :none
    invoke-virtual {p1}, Landroid/content/Intent;->getData()Landroid/net/Uri;
    move-result-object v0
    if-eqz v0, :none
    const/4 v1, 0x1
    new-array v1, v1, [Landroid/net/Uri;
    const/4 p0, 0x0
    aput-object v0, v1, p0
    return-object v1
    :none
    const/4 v0, 0x0
    return-object v0
.end method
