# JVM test double of android.webkit.WebSettings: keeps the flags it is given, as "name=value;" text.
.class public Landroid/webkit/WebSettings;
.super Ljava/lang/Object;

.field public flags:Ljava/lang/StringBuilder;

.method public constructor <init>()V
    .locals 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0}, Ljava/lang/StringBuilder;-><init>()V
    iput-object v0, p0, Landroid/webkit/WebSettings;->flags:Ljava/lang/StringBuilder;
    return-void
.end method

.method private put(Ljava/lang/String;Z)V
    .locals 1
    iget-object v0, p0, Landroid/webkit/WebSettings;->flags:Ljava/lang/StringBuilder;
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const/16 p1, 0x3d
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    invoke-virtual {v0, p2}, Ljava/lang/StringBuilder;->append(Z)Ljava/lang/StringBuilder;
    const/16 p1, 0x3b
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    return-void
.end method

.method public setJavaScriptEnabled(Z)V
    .locals 1
    const-string v0, "javaScript"
    invoke-direct {p0, v0, p1}, Landroid/webkit/WebSettings;->put(Ljava/lang/String;Z)V
    return-void
.end method

.method public setDomStorageEnabled(Z)V
    .locals 1
    const-string v0, "domStorage"
    invoke-direct {p0, v0, p1}, Landroid/webkit/WebSettings;->put(Ljava/lang/String;Z)V
    return-void
.end method

.method public setAllowFileAccess(Z)V
    .locals 1
    const-string v0, "fileAccess"
    invoke-direct {p0, v0, p1}, Landroid/webkit/WebSettings;->put(Ljava/lang/String;Z)V
    return-void
.end method

.method public setAllowContentAccess(Z)V
    .locals 1
    const-string v0, "contentAccess"
    invoke-direct {p0, v0, p1}, Landroid/webkit/WebSettings;->put(Ljava/lang/String;Z)V
    return-void
.end method
