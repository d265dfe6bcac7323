# One row, one column: the display name ContentResolver's double answers with.
.class public final Landroid/database/CursorStub;
.super Ljava/lang/Object;
.implements Landroid/database/Cursor;

.field private final value:Ljava/lang/String;
.field public static closed:I

.method public constructor <init>(Ljava/lang/String;)V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Landroid/database/CursorStub;->value:Ljava/lang/String;
    return-void
.end method

.method public moveToFirst()Z
    .locals 1
    const/4 v0, 0x1
    return v0
.end method

.method public getString(I)Ljava/lang/String;
    .locals 1
    iget-object v0, p0, Landroid/database/CursorStub;->value:Ljava/lang/String;
    return-object v0
.end method

.method public close()V
    .locals 1
    sget v0, Landroid/database/CursorStub;->closed:I
    add-int/lit8 v0, v0, 0x1
    sput v0, Landroid/database/CursorStub;->closed:I
    return-void
.end method
