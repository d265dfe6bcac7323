# Lets the player's own "open file" input work inside the WebView: a WebView shows no chooser
# unless its WebChromeClient starts one. The activity runs the system picker and answers.
.class final Lorg/headbake/player/ChromeClient;
.super Landroid/webkit/WebChromeClient;
.source "ChromeClient.smali"

.field private final activity:Lorg/headbake/player/PlayerActivity;

.method public constructor <init>(Lorg/headbake/player/PlayerActivity;)V
    .locals 0
    invoke-direct {p0}, Landroid/webkit/WebChromeClient;-><init>()V
    iput-object p1, p0, Lorg/headbake/player/ChromeClient;->activity:Lorg/headbake/player/PlayerActivity;
    return-void
.end method

.method public onShowFileChooser(Landroid/webkit/WebView;Landroid/webkit/ValueCallback;Landroid/webkit/WebChromeClient$FileChooserParams;)Z
    .locals 1
    iget-object v0, p0, Lorg/headbake/player/ChromeClient;->activity:Lorg/headbake/player/PlayerActivity;
    invoke-virtual {v0, p2}, Lorg/headbake/player/PlayerActivity;->chooseForPage(Landroid/webkit/ValueCallback;)Z
    move-result v0
    return v0
.end method
