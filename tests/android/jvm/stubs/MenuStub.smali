# A Menu that keeps its one item; its MenuItem records id, title and show-as-action flags.
.class public final Landroid/view/MenuStub;
.super Ljava/lang/Object;
.implements Landroid/view/Menu;
.implements Landroid/view/MenuItem;

.field public id:I
.field public title:Ljava/lang/String;
.field public showAsAction:I

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public add(IIILjava/lang/CharSequence;)Landroid/view/MenuItem;
    .locals 0
    iput p2, p0, Landroid/view/MenuStub;->id:I
    invoke-interface {p4}, Ljava/lang/CharSequence;->toString()Ljava/lang/String;
    move-result-object p1
    iput-object p1, p0, Landroid/view/MenuStub;->title:Ljava/lang/String;
    return-object p0
.end method

.method public getItemId()I
    .locals 1
    iget v0, p0, Landroid/view/MenuStub;->id:I
    return v0
.end method

.method public setShowAsAction(I)V
    .locals 0
    iput p1, p0, Landroid/view/MenuStub;->showAsAction:I
    return-void
.end method
