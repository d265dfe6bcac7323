# A ValueCallback that remembers what it received: "unset", "null" or the array's contents.
.class public final Lorg/headbake/test/Callback;
.super Ljava/lang/Object;
.implements Landroid/webkit/ValueCallback;

.field public got:Ljava/lang/String;

.method public constructor <init>()V
    .locals 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    const-string v0, "unset"
    iput-object v0, p0, Lorg/headbake/test/Callback;->got:Ljava/lang/String;
    return-void
.end method

.method public onReceiveValue(Ljava/lang/Object;)V
    .locals 1
    if-nez p1, :array
    const-string v0, "null"
    iput-object v0, p0, Lorg/headbake/test/Callback;->got:Ljava/lang/String;
    return-void
    :array
    check-cast p1, [Ljava/lang/Object;
    invoke-static {p1}, Ljava/util/Arrays;->toString([Ljava/lang/Object;)Ljava/lang/String;
    move-result-object v0
    iput-object v0, p0, Lorg/headbake/test/Callback;->got:Ljava/lang/String;
    return-void
.end method
