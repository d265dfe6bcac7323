# JVM test double of android.widget.Toast: show() records the text in `shown`.
.class public final Landroid/widget/Toast;
.super Ljava/lang/Object;

.field private text:Ljava/lang/String;
.field public static shown:Ljava/lang/String;

.method private constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static makeText(Landroid/content/Context;Ljava/lang/CharSequence;I)Landroid/widget/Toast;
    .locals 1
    new-instance v0, Landroid/widget/Toast;
    invoke-direct {v0}, Landroid/widget/Toast;-><init>()V
    invoke-interface {p1}, Ljava/lang/CharSequence;->toString()Ljava/lang/String;
    move-result-object p1
    iput-object p1, v0, Landroid/widget/Toast;->text:Ljava/lang/String;
    return-object v0
.end method

.method public show()V
    .locals 1
    iget-object v0, p0, Landroid/widget/Toast;->text:Ljava/lang/String;
    sput-object v0, Landroid/widget/Toast;->shown:Ljava/lang/String;
    return-void
.end method
