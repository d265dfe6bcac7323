# main(documentUri): runs PlayerActivity through launch, "open with", saved state, the menu and
# picker results, the page's file input, a missing picker and the lifecycle, on the JVM doubles;
# prints "key=value" lines for the test to check. In the app's package: the callbacks it calls
# are protected.
.class public final Lorg/headbake/player/ActivityProbe;
.super Ljava/lang/Object;

.method private static p(Ljava/lang/String;Ljava/lang/Object;)V
    .locals 2
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0, p0}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    const/16 v1, 0x3d
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(Ljava/lang/Object;)Ljava/lang/StringBuilder;
    sget-object v1, Ljava/lang/System;->out:Ljava/io/PrintStream;
    invoke-virtual {v1, v0}, Ljava/io/PrintStream;->println(Ljava/lang/Object;)V
    return-void
.end method

.method private static view(Lorg/headbake/player/PlayerActivity;)Landroid/webkit/WebView;
    .locals 1
    iget-object v0, p0, Landroid/app/Activity;->contentView:Landroid/view/View;
    check-cast v0, Landroid/webkit/WebView;
    return-object v0
.end method

# "url1 | url2 | ..." of everything the activity's WebView was asked to load
.method private static urls(Lorg/headbake/player/PlayerActivity;)Ljava/lang/String;
    .locals 2
    invoke-static {p0}, Lorg/headbake/player/ActivityProbe;->view(Lorg/headbake/player/PlayerActivity;)Landroid/webkit/WebView;
    move-result-object v0
    iget-object v0, v0, Landroid/webkit/WebView;->urls:Ljava/util/ArrayList;
    const-string v1, " | "
    invoke-static {v1, v0}, Ljava/lang/String;->join(Ljava/lang/CharSequence;Ljava/lang/Iterable;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method private static intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    .locals 1
    new-instance v0, Landroid/content/Intent;
    invoke-direct {v0, p0}, Landroid/content/Intent;-><init>(Ljava/lang/String;)V
    if-eqz p1, :done
    invoke-static {p1}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object p1
    invoke-virtual {v0, p1}, Landroid/content/Intent;->setData(Landroid/net/Uri;)Landroid/content/Intent;
    :done
    return-object v0
.end method

.method public static main([Ljava/lang/String;)V
    .locals 10
    const/4 v0, 0x0
    aget-object v9, p0, v0
    const-string v8, "android.intent.action.MAIN"
    const-string v7, "android.intent.action.VIEW"

    # 1. launched from the launcher: the default bundle
    new-instance v0, Lorg/headbake/player/PlayerActivity;
    invoke-direct {v0}, Lorg/headbake/player/PlayerActivity;-><init>()V
    const/4 v1, 0x0
    invoke-static {v8, v1}, Lorg/headbake/player/ActivityProbe;->intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    move-result-object v2
    invoke-virtual {v0, v2}, Lorg/headbake/player/PlayerActivity;->setIntent(Landroid/content/Intent;)V
    invoke-virtual {v0, v1}, Lorg/headbake/player/PlayerActivity;->onCreate(Landroid/os/Bundle;)V
    const-string v1, "launch.urls"
    invoke-static {v0}, Lorg/headbake/player/ActivityProbe;->urls(Lorg/headbake/player/PlayerActivity;)Ljava/lang/String;
    move-result-object v2
    invoke-static {v1, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    invoke-static {v0}, Lorg/headbake/player/ActivityProbe;->view(Lorg/headbake/player/PlayerActivity;)Landroid/webkit/WebView;
    move-result-object v6
    const-string v1, "settings"
    iget-object v2, v6, Landroid/webkit/WebView;->settings:Landroid/webkit/WebSettings;
    iget-object v2, v2, Landroid/webkit/WebSettings;->flags:Ljava/lang/StringBuilder;
    invoke-static {v1, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    const-string v1, "clients"
    new-instance v2, Ljava/lang/StringBuilder;
    invoke-direct {v2}, Ljava/lang/StringBuilder;-><init>()V
    iget-object v3, v6, Landroid/webkit/WebView;->client:Landroid/webkit/WebViewClient;
    instance-of v3, v3, Lorg/headbake/player/AssetClient;
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(Z)Ljava/lang/StringBuilder;
    const/16 v3, 0x2c
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(C)Ljava/lang/StringBuilder;
    iget-object v3, v6, Landroid/webkit/WebView;->chrome:Landroid/webkit/WebChromeClient;
    instance-of v3, v3, Lorg/headbake/player/ChromeClient;
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(Z)Ljava/lang/StringBuilder;
    invoke-static {v1, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V

    # 2. started by "open with" (ACTION_VIEW), then its state saved and restored in a new activity
    new-instance v1, Lorg/headbake/player/PlayerActivity;
    invoke-direct {v1}, Lorg/headbake/player/PlayerActivity;-><init>()V
    invoke-static {v7, v9}, Lorg/headbake/player/ActivityProbe;->intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    move-result-object v2
    invoke-virtual {v1, v2}, Lorg/headbake/player/PlayerActivity;->setIntent(Landroid/content/Intent;)V
    const/4 v2, 0x0
    invoke-virtual {v1, v2}, Lorg/headbake/player/PlayerActivity;->onCreate(Landroid/os/Bundle;)V
    const-string v2, "view.urls"
    invoke-static {v1}, Lorg/headbake/player/ActivityProbe;->urls(Lorg/headbake/player/PlayerActivity;)Ljava/lang/String;
    move-result-object v3
    invoke-static {v2, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    new-instance v2, Landroid/os/Bundle;
    invoke-direct {v2}, Landroid/os/Bundle;-><init>()V
    invoke-virtual {v1, v2}, Lorg/headbake/player/PlayerActivity;->onSaveInstanceState(Landroid/os/Bundle;)V
    new-instance v1, Lorg/headbake/player/PlayerActivity;
    invoke-direct {v1}, Lorg/headbake/player/PlayerActivity;-><init>()V
    const/4 v3, 0x0
    invoke-static {v8, v3}, Lorg/headbake/player/ActivityProbe;->intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    move-result-object v3
    invoke-virtual {v1, v3}, Lorg/headbake/player/PlayerActivity;->setIntent(Landroid/content/Intent;)V
    invoke-virtual {v1, v2}, Lorg/headbake/player/PlayerActivity;->onCreate(Landroid/os/Bundle;)V
    const-string v2, "restored.urls"
    invoke-static {v1}, Lorg/headbake/player/ActivityProbe;->urls(Lorg/headbake/player/PlayerActivity;)Ljava/lang/String;
    move-result-object v3
    invoke-static {v2, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    # the launcher activity saves nothing (it shows the default bundle)
    new-instance v2, Landroid/os/Bundle;
    invoke-direct {v2}, Landroid/os/Bundle;-><init>()V
    invoke-virtual {v0, v2}, Lorg/headbake/player/PlayerActivity;->onSaveInstanceState(Landroid/os/Bundle;)V
    const-string v3, "hb.document"
    invoke-virtual {v2, v3}, Landroid/os/Bundle;->getParcelable(Ljava/lang/String;)Landroid/os/Parcelable;
    move-result-object v2
    const-string v3, "launch.saved"
    invoke-static {v3, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V

    # 3. the menu item, then the picker's answer: OK, then cancelled
    new-instance v5, Landroid/view/MenuStub;
    invoke-direct {v5}, Landroid/view/MenuStub;-><init>()V
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->onCreateOptionsMenu(Landroid/view/Menu;)Z
    move-result v2
    new-instance v3, Ljava/lang/StringBuilder;
    invoke-direct {v3}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v3, v2}, Ljava/lang/StringBuilder;->append(Z)Ljava/lang/StringBuilder;
    const-string v2, ","
    invoke-virtual {v3, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget v4, v5, Landroid/view/MenuStub;->id:I
    invoke-virtual {v3, v4}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    invoke-virtual {v3, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget-object v4, v5, Landroid/view/MenuStub;->title:Ljava/lang/String;
    invoke-virtual {v3, v4}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v3, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget v4, v5, Landroid/view/MenuStub;->showAsAction:I
    invoke-virtual {v3, v4}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v4, "menu"
    invoke-static {v4, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->onOptionsItemSelected(Landroid/view/MenuItem;)Z
    move-result v3
    invoke-static {v0, v3}, Lorg/headbake/player/ActivityProbe;->started(Lorg/headbake/player/PlayerActivity;Z)V
    const-string v3, "android.intent.action.PICKED"
    invoke-static {v3, v9}, Lorg/headbake/player/ActivityProbe;->intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    move-result-object v4
    const/16 v2, 0x2a
    const/4 v3, -0x1
    invoke-virtual {v0, v2, v3, v4}, Lorg/headbake/player/PlayerActivity;->onActivityResult(IILandroid/content/Intent;)V
    const/4 v3, 0x0
    const/4 v4, 0x0
    invoke-virtual {v0, v2, v3, v4}, Lorg/headbake/player/PlayerActivity;->onActivityResult(IILandroid/content/Intent;)V
    const-string v2, "picked.urls"
    invoke-static {v0}, Lorg/headbake/player/ActivityProbe;->urls(Lorg/headbake/player/PlayerActivity;)Ljava/lang/String;
    move-result-object v3
    invoke-static {v2, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    const-string v2, "persisted"
    sget-object v3, Landroid/content/ContentResolver;->persisted:Ljava/lang/String;
    invoke-static {v2, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V

    # 4. the page's file input: chosen, cancelled, superseded by a second request
    new-instance v5, Lorg/headbake/test/Callback;
    invoke-direct {v5}, Lorg/headbake/test/Callback;-><init>()V
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->chooseForPage(Landroid/webkit/ValueCallback;)Z
    move-result v3
    invoke-static {v0, v3}, Lorg/headbake/player/ActivityProbe;->started(Lorg/headbake/player/PlayerActivity;Z)V
    const-string v3, "android.intent.action.PICKED"
    invoke-static {v3, v9}, Lorg/headbake/player/ActivityProbe;->intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    move-result-object v4
    const/16 v2, 0x2b
    const/4 v3, -0x1
    invoke-virtual {v0, v2, v3, v4}, Lorg/headbake/player/PlayerActivity;->onActivityResult(IILandroid/content/Intent;)V
    const-string v2, "page.chosen"
    iget-object v3, v5, Lorg/headbake/test/Callback;->got:Ljava/lang/String;
    invoke-static {v2, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    new-instance v5, Lorg/headbake/test/Callback;
    invoke-direct {v5}, Lorg/headbake/test/Callback;-><init>()V
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->chooseForPage(Landroid/webkit/ValueCallback;)Z
    const/16 v2, 0x2b
    const/4 v3, 0x0
    const/4 v4, 0x0
    invoke-virtual {v0, v2, v3, v4}, Lorg/headbake/player/PlayerActivity;->onActivityResult(IILandroid/content/Intent;)V
    const-string v2, "page.cancelled"
    iget-object v3, v5, Lorg/headbake/test/Callback;->got:Ljava/lang/String;
    invoke-static {v2, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    new-instance v5, Lorg/headbake/test/Callback;
    invoke-direct {v5}, Lorg/headbake/test/Callback;-><init>()V
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->chooseForPage(Landroid/webkit/ValueCallback;)Z
    new-instance v4, Lorg/headbake/test/Callback;
    invoke-direct {v4}, Lorg/headbake/test/Callback;-><init>()V
    invoke-virtual {v0, v4}, Lorg/headbake/player/PlayerActivity;->chooseForPage(Landroid/webkit/ValueCallback;)Z
    const-string v2, "page.superseded"
    iget-object v3, v5, Lorg/headbake/test/Callback;->got:Ljava/lang/String;
    invoke-static {v2, v3}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V

    # 5. "open with" while running (onNewIntent), and an intent that is not VIEW
    invoke-static {v7, v9}, Lorg/headbake/player/ActivityProbe;->intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    move-result-object v2
    invoke-virtual {v0, v2}, Lorg/headbake/player/PlayerActivity;->onNewIntent(Landroid/content/Intent;)V
    const/4 v3, 0x0
    invoke-static {v8, v3}, Lorg/headbake/player/ActivityProbe;->intent(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    move-result-object v3
    invoke-virtual {v0, v3}, Lorg/headbake/player/PlayerActivity;->onNewIntent(Landroid/content/Intent;)V
    const-string v2, "newintent.urls"
    invoke-static {v0}, Lorg/headbake/player/ActivityProbe;->urls(Lorg/headbake/player/PlayerActivity;)Ljava/lang/String;
    move-result-object v4
    invoke-static {v2, v4}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    invoke-virtual {v0}, Lorg/headbake/player/PlayerActivity;->getIntent()Landroid/content/Intent;
    move-result-object v2
    if-ne v2, v3, :not_same
    const/4 v2, 0x1
    goto :same
    :not_same
    const/4 v2, 0x0
    :same
    invoke-static {v2}, Ljava/lang/Boolean;->valueOf(Z)Ljava/lang/Boolean;
    move-result-object v2
    const-string v4, "newintent.kept"
    invoke-static {v4, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V

    # 6. no document picker on the device
    const/4 v2, 0x1
    sput-boolean v2, Landroid/app/Activity;->noPicker:Z
    new-instance v5, Landroid/view/MenuStub;
    invoke-direct {v5}, Landroid/view/MenuStub;-><init>()V
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->onCreateOptionsMenu(Landroid/view/Menu;)Z
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->onOptionsItemSelected(Landroid/view/MenuItem;)Z
    move-result v2
    invoke-static {v2}, Ljava/lang/Boolean;->valueOf(Z)Ljava/lang/Boolean;
    move-result-object v2
    const-string v3, "nopicker.menu"
    invoke-static {v3, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    const-string v3, "nopicker.toast"
    sget-object v2, Landroid/widget/Toast;->shown:Ljava/lang/String;
    invoke-static {v3, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    new-instance v5, Lorg/headbake/test/Callback;
    invoke-direct {v5}, Lorg/headbake/test/Callback;-><init>()V
    invoke-virtual {v0, v5}, Lorg/headbake/player/PlayerActivity;->chooseForPage(Landroid/webkit/ValueCallback;)Z
    move-result v2
    invoke-static {v2}, Ljava/lang/Boolean;->valueOf(Z)Ljava/lang/Boolean;
    move-result-object v2
    const-string v3, "nopicker.page"
    invoke-static {v3, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V

    # 7. lifecycle
    invoke-virtual {v0}, Lorg/headbake/player/PlayerActivity;->onPause()V
    invoke-virtual {v0}, Lorg/headbake/player/PlayerActivity;->onResume()V
    invoke-virtual {v0}, Lorg/headbake/player/PlayerActivity;->onDestroy()V
    new-instance v2, Ljava/lang/StringBuilder;
    invoke-direct {v2}, Ljava/lang/StringBuilder;-><init>()V
    iget v3, v6, Landroid/webkit/WebView;->paused:I
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    iget v3, v6, Landroid/webkit/WebView;->resumed:I
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    iget v3, v6, Landroid/webkit/WebView;->destroyed:I
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v3, "lifecycle"
    invoke-static {v3, v2}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    return-void
.end method

# prints "started=<returned>,<request code>,<action>,<categories>,<type>" and forgets the request
.method private static started(Lorg/headbake/player/PlayerActivity;Z)V
    .locals 4
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v0, p1}, Ljava/lang/StringBuilder;->append(Z)Ljava/lang/StringBuilder;
    const-string v1, ","
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget v2, p0, Landroid/app/Activity;->startedCode:I
    invoke-virtual {v0, v2}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget-object v2, p0, Landroid/app/Activity;->started:Landroid/content/Intent;
    iget-object v3, v2, Landroid/content/Intent;->action:Ljava/lang/String;
    invoke-virtual {v0, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget-object v3, v2, Landroid/content/Intent;->categories:Ljava/lang/String;
    invoke-virtual {v0, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget-object v3, v2, Landroid/content/Intent;->type:Ljava/lang/String;
    invoke-virtual {v0, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v1, "started"
    invoke-static {v1, v0}, Lorg/headbake/player/ActivityProbe;->p(Ljava/lang/String;Ljava/lang/Object;)V
    const/4 v1, 0x0
    iput-object v1, p0, Landroid/app/Activity;->started:Landroid/content/Intent;
    const/4 v1, 0x0
    iput v1, p0, Landroid/app/Activity;->startedCode:I
    return-void
.end method
