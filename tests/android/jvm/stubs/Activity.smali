# JVM test double of android.app.Activity (a Context): lifecycle callbacks do nothing; it keeps the
# intent, the content view and the last startActivityForResult call (or throws
# ActivityNotFoundException when `noPicker` is set), so that PlayerActivity can run on the JVM.
.class public Landroid/app/Activity;
.super Landroid/content/Context;

.field public intent:Landroid/content/Intent;
.field public contentView:Landroid/view/View;
.field public started:Landroid/content/Intent;
.field public startedCode:I
.field public static noPicker:Z

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Landroid/content/Context;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .locals 0
    return-void
.end method

.method protected onNewIntent(Landroid/content/Intent;)V
    .locals 0
    return-void
.end method

.method protected onActivityResult(IILandroid/content/Intent;)V
    .locals 0
    return-void
.end method

.method public onOptionsItemSelected(Landroid/view/MenuItem;)Z
    .locals 1
    const/4 v0, 0x0
    return v0
.end method

.method protected onSaveInstanceState(Landroid/os/Bundle;)V
    .locals 0
    return-void
.end method

.method protected onPause()V
    .locals 0
    return-void
.end method

.method protected onResume()V
    .locals 0
    return-void
.end method

.method protected onDestroy()V
    .locals 0
    return-void
.end method

.method public getIntent()Landroid/content/Intent;
    .locals 1
    iget-object v0, p0, Landroid/app/Activity;->intent:Landroid/content/Intent;
    return-object v0
.end method

.method public setIntent(Landroid/content/Intent;)V
    .locals 0
    iput-object p1, p0, Landroid/app/Activity;->intent:Landroid/content/Intent;
    return-void
.end method

.method public setContentView(Landroid/view/View;)V
    .locals 0
    iput-object p1, p0, Landroid/app/Activity;->contentView:Landroid/view/View;
    return-void
.end method

.method public startActivityForResult(Landroid/content/Intent;I)V
    .locals 1
    sget-boolean v0, Landroid/app/Activity;->noPicker:Z
    if-eqz v0, :ok
    new-instance v0, Landroid/content/ActivityNotFoundException;
    invoke-direct {v0}, Landroid/content/ActivityNotFoundException;-><init>()V
    throw v0
    :ok
    iput-object p1, p0, Landroid/app/Activity;->started:Landroid/content/Intent;
    iput p2, p0, Landroid/app/Activity;->startedCode:I
    return-void
.end method
