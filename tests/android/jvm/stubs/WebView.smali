# JVM test double of android.webkit.WebView (a View): keeps its settings, clients, the URLs it was
# asked to load, and counts pause/resume/destroy.
.class public Landroid/webkit/WebView;
.super Landroid/view/View;

.field public settings:Landroid/webkit/WebSettings;
.field public client:Landroid/webkit/WebViewClient;
.field public chrome:Landroid/webkit/WebChromeClient;
.field public urls:Ljava/util/ArrayList;
.field public paused:I
.field public resumed:I
.field public destroyed:I

.method public constructor <init>(Landroid/content/Context;)V
    .locals 1
    invoke-direct {p0}, Landroid/view/View;-><init>()V
    new-instance v0, Landroid/webkit/WebSettings;
    invoke-direct {v0}, Landroid/webkit/WebSettings;-><init>()V
    iput-object v0, p0, Landroid/webkit/WebView;->settings:Landroid/webkit/WebSettings;
    new-instance v0, Ljava/util/ArrayList;
    invoke-direct {v0}, Ljava/util/ArrayList;-><init>()V
    iput-object v0, p0, Landroid/webkit/WebView;->urls:Ljava/util/ArrayList;
    return-void
.end method

.method public getSettings()Landroid/webkit/WebSettings;
    .locals 1
    iget-object v0, p0, Landroid/webkit/WebView;->settings:Landroid/webkit/WebSettings;
    return-object v0
.end method

.method public setWebViewClient(Landroid/webkit/WebViewClient;)V
    .locals 0
    iput-object p1, p0, Landroid/webkit/WebView;->client:Landroid/webkit/WebViewClient;
    return-void
.end method

.method public setWebChromeClient(Landroid/webkit/WebChromeClient;)V
    .locals 0
    iput-object p1, p0, Landroid/webkit/WebView;->chrome:Landroid/webkit/WebChromeClient;
    return-void
.end method

.method public loadUrl(Ljava/lang/String;)V
    .locals 1
    iget-object v0, p0, Landroid/webkit/WebView;->urls:Ljava/util/ArrayList;
    invoke-virtual {v0, p1}, Ljava/util/ArrayList;->add(Ljava/lang/Object;)Z
    return-void
.end method

.method public onPause()V
    .locals 1
    iget v0, p0, Landroid/webkit/WebView;->paused:I
    add-int/lit8 v0, v0, 0x1
    iput v0, p0, Landroid/webkit/WebView;->paused:I
    return-void
.end method

.method public onResume()V
    .locals 1
    iget v0, p0, Landroid/webkit/WebView;->resumed:I
    add-int/lit8 v0, v0, 0x1
    iput v0, p0, Landroid/webkit/WebView;->resumed:I
    return-void
.end method

.method public destroy()V
    .locals 1
    iget v0, p0, Landroid/webkit/WebView;->destroyed:I
    add-int/lit8 v0, v0, 0x1
    iput v0, p0, Landroid/webkit/WebView;->destroyed:I
    return-void
.end method
