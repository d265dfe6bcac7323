# The app's one activity: a full-window WebView showing the built web player from the APK
# (https://appassets.androidplatform.net/player/index.html, served by AssetClient) with
#   - the bundled default avatar (assets/bundle/*.glb), or
#   - a .glb the user opened: "Open .glb" in the action bar (ACTION_OPEN_DOCUMENT), an
#     "open with" VIEW intent, or the player's own file input (ChromeClient).
# The manifest declares configChanges for rotation, so turning the phone only resizes the page.
.class public final Lorg/headbake/player/PlayerActivity;
.super Landroid/app/Activity;
.source "PlayerActivity.smali"

.field private static final STATE_DOCUMENT:Ljava/lang/String; = "hb.document"
.field private static final REQUEST_OPEN:I = 0x2a
.field private static final REQUEST_PAGE_FILE:I = 0x2b
.field private static final MENU_OPEN:I = 0x1

.field private webView:Landroid/webkit/WebView;
.field private client:Lorg/headbake/player/AssetClient;
# the document shown (null: the default bundle); saved across activity re-creation
.field private current:Landroid/net/Uri;
# the page's pending <input type=file> callback (ValueCallback<Uri[]>), if any
.field private pageChooser:Landroid/webkit/ValueCallback;

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .locals 4
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Lorg/headbake/player/AssetClient;
    invoke-direct {v0, p0}, Lorg/headbake/player/AssetClient;-><init>(Landroid/content/Context;)V
    iput-object v0, p0, Lorg/headbake/player/PlayerActivity;->client:Lorg/headbake/player/AssetClient;
    new-instance v1, Landroid/webkit/WebView;
    invoke-direct {v1, p0}, Landroid/webkit/WebView;-><init>(Landroid/content/Context;)V
    iput-object v1, p0, Lorg/headbake/player/PlayerActivity;->webView:Landroid/webkit/WebView;
    invoke-virtual {v1, v0}, Landroid/webkit/WebView;->setWebViewClient(Landroid/webkit/WebViewClient;)V
    new-instance v0, Lorg/headbake/player/ChromeClient;
    invoke-direct {v0, p0}, Lorg/headbake/player/ChromeClient;-><init>(Lorg/headbake/player/PlayerActivity;)V
    invoke-virtual {v1, v0}, Landroid/webkit/WebView;->setWebChromeClient(Landroid/webkit/WebChromeClient;)V
    invoke-virtual {v1}, Landroid/webkit/WebView;->getSettings()Landroid/webkit/WebSettings;
    move-result-object v2
    const/4 v3, 0x1
    invoke-virtual {v2, v3}, Landroid/webkit/WebSettings;->setJavaScriptEnabled(Z)V
    invoke-virtual {v2, v3}, Landroid/webkit/WebSettings;->setDomStorageEnabled(Z)V
    # everything comes through AssetClient: no direct file:// or content:// access for the page
    const/4 v3, 0x0
    invoke-virtual {v2, v3}, Landroid/webkit/WebSettings;->setAllowFileAccess(Z)V
    invoke-virtual {v2, v3}, Landroid/webkit/WebSettings;->setAllowContentAccess(Z)V
    invoke-virtual {p0, v1}, Lorg/headbake/player/PlayerActivity;->setContentView(Landroid/view/View;)V
    # which document: saved state, else an "open with" intent, else the default bundle
    const/4 v0, 0x0
    if-eqz p1, :from_intent
    const-string v2, "hb.document"
    invoke-virtual {p1, v2}, Landroid/os/Bundle;->getParcelable(Ljava/lang/String;)Landroid/os/Parcelable;
    move-result-object v0
    check-cast v0, Landroid/net/Uri;
    :from_intent
    if-nez v0, :show
    invoke-virtual {p0}, Lorg/headbake/player/PlayerActivity;->getIntent()Landroid/content/Intent;
    move-result-object v2
    invoke-static {v2}, Lorg/headbake/player/PlayerActivity;->viewedDocument(Landroid/content/Intent;)Landroid/net/Uri;
    move-result-object v0
    :show
    invoke-direct {p0, v0}, Lorg/headbake/player/PlayerActivity;->show(Landroid/net/Uri;)V
    return-void
.end method

# The data Uri of an ACTION_VIEW intent, else null.
.method private static viewedDocument(Landroid/content/Intent;)Landroid/net/Uri;
    .locals 2
    if-eqz p0, :none
    const-string v0, "android.intent.action.VIEW"
    invoke-virtual {p0}, Landroid/content/Intent;->getAction()Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Ljava/lang/String;->equals(Ljava/lang/Object;)Z
    move-result v0
    if-eqz v0, :none
    invoke-virtual {p0}, Landroid/content/Intent;->getData()Landroid/net/Uri;
    move-result-object v0
    return-object v0
    :none
    const/4 v0, 0x0
    return-object v0
.end method

# Loads the player with `document` (null: the default bundle) as its ?bundle=.
.method private show(Landroid/net/Uri;)V
    .locals 3
    iput-object p1, p0, Lorg/headbake/player/PlayerActivity;->current:Landroid/net/Uri;
    iget-object v0, p0, Lorg/headbake/player/PlayerActivity;->client:Lorg/headbake/player/AssetClient;
    if-nez p1, :document
    invoke-virtual {v0}, Lorg/headbake/player/AssetClient;->defaultBundle()Ljava/lang/String;
    move-result-object v1
    goto :load
    :document
    invoke-direct {p0, p1}, Lorg/headbake/player/PlayerActivity;->displayName(Landroid/net/Uri;)Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, p1, v1}, Lorg/headbake/player/AssetClient;->register(Landroid/net/Uri;Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1
    :load
    invoke-static {v1}, Lorg/headbake/player/Router;->playerUrl(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1
    iget-object v2, p0, Lorg/headbake/player/PlayerActivity;->webView:Landroid/webkit/WebView;
    invoke-virtual {v2, v1}, Landroid/webkit/WebView;->loadUrl(Ljava/lang/String;)V
    return-void
.end method

# The document's display name (OpenableColumns.DISPLAY_NAME), else its last path segment.
.method private displayName(Landroid/net/Uri;)Ljava/lang/String;
    .locals 7
    const/4 v0, 0x0
    :try_start
    invoke-virtual {p0}, Lorg/headbake/player/PlayerActivity;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v1
    move-object v2, p1
    const/4 v3, 0x1
    new-array v3, v3, [Ljava/lang/String;
    const-string v4, "_display_name"
    const/4 v5, 0x0
    aput-object v4, v3, v5
    const/4 v4, 0x0
    const/4 v5, 0x0
    const/4 v6, 0x0
    invoke-virtual/range {v1 .. v6}, Landroid/content/ContentResolver;->query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;
    move-result-object v1
    if-eqz v1, :queried
    invoke-interface {v1}, Landroid/database/Cursor;->moveToFirst()Z
    move-result v2
    if-eqz v2, :close
    const/4 v2, 0x0
    invoke-interface {v1, v2}, Landroid/database/Cursor;->getString(I)Ljava/lang/String;
    move-result-object v0
    :close
    invoke-interface {v1}, Landroid/database/Cursor;->close()V
    :queried
    nop
    :try_end
    .catch Ljava/lang/Exception; {:try_start .. :try_end} :fallback
    :fallback
    if-nez v0, :done
    invoke-virtual {p1}, Landroid/net/Uri;->getLastPathSegment()Ljava/lang/String;
    move-result-object v0
    :done
    return-object v0
.end method

.method protected onNewIntent(Landroid/content/Intent;)V
    .locals 1
    invoke-super {p0, p1}, Landroid/app/Activity;->onNewIntent(Landroid/content/Intent;)V
    invoke-virtual {p0, p1}, Lorg/headbake/player/PlayerActivity;->setIntent(Landroid/content/Intent;)V
    invoke-static {p1}, Lorg/headbake/player/PlayerActivity;->viewedDocument(Landroid/content/Intent;)Landroid/net/Uri;
    move-result-object v0
    if-eqz v0, :done
    invoke-direct {p0, v0}, Lorg/headbake/player/PlayerActivity;->show(Landroid/net/Uri;)V
    :done
    return-void
.end method

.method public onCreateOptionsMenu(Landroid/view/Menu;)Z
    .locals 4
    const/4 v0, 0x0
    const/4 v1, 0x1
    const-string v2, "Open .glb"
    invoke-interface {p1, v0, v1, v0, v2}, Landroid/view/Menu;->add(IIILjava/lang/CharSequence;)Landroid/view/MenuItem;
    move-result-object v2
    # SHOW_AS_ACTION_ALWAYS | SHOW_AS_ACTION_WITH_TEXT
    const/4 v3, 0x6
    invoke-interface {v2, v3}, Landroid/view/MenuItem;->setShowAsAction(I)V
    return v1
.end method

.method public onOptionsItemSelected(Landroid/view/MenuItem;)Z
    .locals 2
    invoke-interface {p1}, Landroid/view/MenuItem;->getItemId()I
    move-result v0
    const/4 v1, 0x1
    if-ne v0, v1, :other
    const/16 v0, 0x2a
    invoke-direct {p0, v0}, Lorg/headbake/player/PlayerActivity;->pick(I)Z
    return v1
    :other
    invoke-super {p0, p1}, Landroid/app/Activity;->onOptionsItemSelected(Landroid/view/MenuItem;)Z
    move-result v0
    return v0
.end method

# Called by ChromeClient for the page's file input; true when a picker was started.
.method public chooseForPage(Landroid/webkit/ValueCallback;)Z
    .locals 2
    iget-object v0, p0, Lorg/headbake/player/PlayerActivity;->pageChooser:Landroid/webkit/ValueCallback;
    if-eqz v0, :free
    # a previous request never came back: tell the page it was cancelled
    const/4 v1, 0x0
    invoke-interface {v0, v1}, Landroid/webkit/ValueCallback;->onReceiveValue(Ljava/lang/Object;)V
    :free
    iput-object p1, p0, Lorg/headbake/player/PlayerActivity;->pageChooser:Landroid/webkit/ValueCallback;
    const/16 v0, 0x2b
    invoke-direct {p0, v0}, Lorg/headbake/player/PlayerActivity;->pick(I)Z
    move-result v0
    if-nez v0, :started
    const/4 v1, 0x0
    iput-object v1, p0, Lorg/headbake/player/PlayerActivity;->pageChooser:Landroid/webkit/ValueCallback;
    :started
    return v0
.end method

# Starts the system document picker (any type: providers label .glb inconsistently).
.method private pick(I)Z
    .locals 3
    new-instance v0, Landroid/content/Intent;
    const-string v1, "android.intent.action.OPEN_DOCUMENT"
    invoke-direct {v0, v1}, Landroid/content/Intent;-><init>(Ljava/lang/String;)V
    const-string v1, "android.intent.category.OPENABLE"
    invoke-virtual {v0, v1}, Landroid/content/Intent;->addCategory(Ljava/lang/String;)Landroid/content/Intent;
    const-string v1, "*/*"
    invoke-virtual {v0, v1}, Landroid/content/Intent;->setType(Ljava/lang/String;)Landroid/content/Intent;
    :try_start
    invoke-virtual {p0, v0, p1}, Lorg/headbake/player/PlayerActivity;->startActivityForResult(Landroid/content/Intent;I)V
    :try_end
    .catch Landroid/content/ActivityNotFoundException; {:try_start .. :try_end} :no_picker
    const/4 v0, 0x1
    return v0
    :no_picker
    const-string v1, "No file picker is available on this device"
    const/4 v2, 0x1
    invoke-static {p0, v1, v2}, Landroid/widget/Toast;->makeText(Landroid/content/Context;Ljava/lang/CharSequence;I)Landroid/widget/Toast;
    move-result-object v0
    invoke-virtual {v0}, Landroid/widget/Toast;->show()V
    const/4 v0, 0x0
    return v0
.end method

.method protected onActivityResult(IILandroid/content/Intent;)V
    .locals 3
    invoke-super {p0, p1, p2, p3}, Landroid/app/Activity;->onActivityResult(IILandroid/content/Intent;)V
    const/16 v0, 0x2b
    if-ne p1, v0, :not_page
    # the page's file input: hand back the chosen Uri (or null when cancelled)
    iget-object v0, p0, Lorg/headbake/player/PlayerActivity;->pageChooser:Landroid/webkit/ValueCallback;
    const/4 v1, 0x0
    iput-object v1, p0, Lorg/headbake/player/PlayerActivity;->pageChooser:Landroid/webkit/ValueCallback;
    if-eqz v0, :done
    invoke-static {p2, p3}, Landroid/webkit/WebChromeClient$FileChooserParams;->parseResult(ILandroid/content/Intent;)[Landroid/net/Uri;
    move-result-object v1
    invoke-interface {v0, v1}, Landroid/webkit/ValueCallback;->onReceiveValue(Ljava/lang/Object;)V
    return-void
    :not_page
    const/16 v0, 0x2a
    if-ne p1, v0, :done
    const/4 v0, -0x1
    if-ne p2, v0, :done
    if-eqz p3, :done
    invoke-virtual {p3}, Landroid/content/Intent;->getData()Landroid/net/Uri;
    move-result-object v0
    if-eqz v0, :done
    # keep read access across process death when the provider allows it (restored from state)
    :try_start
    invoke-virtual {p0}, Lorg/headbake/player/PlayerActivity;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v1
    const/4 v2, 0x1
    invoke-virtual {v1, v0, v2}, Landroid/content/ContentResolver;->takePersistableUriPermission(Landroid/net/Uri;I)V
    :try_end
    .catch Ljava/lang/SecurityException; {:try_start .. :try_end} :granted
    :granted
    invoke-direct {p0, v0}, Lorg/headbake/player/PlayerActivity;->show(Landroid/net/Uri;)V
    :done
    return-void
.end method

.method protected onSaveInstanceState(Landroid/os/Bundle;)V
    .locals 2
    invoke-super {p0, p1}, Landroid/app/Activity;->onSaveInstanceState(Landroid/os/Bundle;)V
    iget-object v0, p0, Lorg/headbake/player/PlayerActivity;->current:Landroid/net/Uri;
    if-eqz v0, :done
    const-string v1, "hb.document"
    invoke-virtual {p1, v1, v0}, Landroid/os/Bundle;->putParcelable(Ljava/lang/String;Landroid/os/Parcelable;)V
    :done
    return-void
.end method

# Pause the page's animation loop and timers-of-this-view while the activity is not visible.
.method protected onPause()V
    .locals 1
    iget-object v0, p0, Lorg/headbake/player/PlayerActivity;->webView:Landroid/webkit/WebView;
    invoke-virtual {v0}, Landroid/webkit/WebView;->onPause()V
    invoke-super {p0}, Landroid/app/Activity;->onPause()V
    return-void
.end method

.method protected onResume()V
    .locals 1
    invoke-super {p0}, Landroid/app/Activity;->onResume()V
    iget-object v0, p0, Lorg/headbake/player/PlayerActivity;->webView:Landroid/webkit/WebView;
    invoke-virtual {v0}, Landroid/webkit/WebView;->onResume()V
    return-void
.end method

.method protected onDestroy()V
    .locals 1
    iget-object v0, p0, Lorg/headbake/player/PlayerActivity;->webView:Landroid/webkit/WebView;
    if-eqz v0, :done
    invoke-virtual {v0}, Landroid/webkit/WebView;->destroy()V
    const/4 v0, 0x0
    iput-object v0, p0, Lorg/headbake/player/PlayerActivity;->webView:Landroid/webkit/WebView;
    :done
    invoke-super {p0}, Landroid/app/Activity;->onDestroy()V
    return-void
.end method
