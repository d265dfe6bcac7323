# JVM test double of android.content.Intent: action, data, type and categories (as "a,b").
.class public Landroid/content/Intent;
.super Ljava/lang/Object;

.field public action:Ljava/lang/String;
.field public data:Landroid/net/Uri;
.field public type:Ljava/lang/String;
.field public categories:Ljava/lang/String;

.method public constructor <init>(Ljava/lang/String;)V
    .locals 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Landroid/content/Intent;->action:Ljava/lang/String;
    const-string v0, ""
    iput-object v0, p0, Landroid/content/Intent;->categories:Ljava/lang/String;
    return-void
.end method

.method public getAction()Ljava/lang/String;
    .locals 1
    iget-object v0, p0, Landroid/content/Intent;->action:Ljava/lang/String;
    return-object v0
.end method

.method public getData()Landroid/net/Uri;
    .locals 1
    iget-object v0, p0, Landroid/content/Intent;->data:Landroid/net/Uri;
    return-object v0
.end method

.method public setData(Landroid/net/Uri;)Landroid/content/Intent;
    .locals 0
    iput-object p1, p0, Landroid/content/Intent;->data:Landroid/net/Uri;
    return-object p0
.end method

.method public setType(Ljava/lang/String;)Landroid/content/Intent;
    .locals 0
    iput-object p1, p0, Landroid/content/Intent;->type:Ljava/lang/String;
    return-object p0
.end method

.method public addCategory(Ljava/lang/String;)Landroid/content/Intent;
    .locals 1
    iget-object v0, p0, Landroid/content/Intent;->categories:Ljava/lang/String;
    invoke-virtual {v0, p1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    iput-object v0, p0, Landroid/content/Intent;->categories:Ljava/lang/String;
    return-object p0
.end method
