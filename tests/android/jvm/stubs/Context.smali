# JVM test double of android.content.Context: assets from a directory, a file-backed resolver.
.class public Landroid/content/Context;
.super Ljava/lang/Object;

.field private final assets:Landroid/content/res/AssetManager;
.field private final resolver:Landroid/content/ContentResolver;

.method public constructor <init>(Ljava/io/File;)V
    .locals 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    new-instance v0, Landroid/content/res/AssetManager;
    invoke-direct {v0, p1}, Landroid/content/res/AssetManager;-><init>(Ljava/io/File;)V
    iput-object v0, p0, Landroid/content/Context;->assets:Landroid/content/res/AssetManager;
    new-instance v0, Landroid/content/ContentResolver;
    invoke-direct {v0}, Landroid/content/ContentResolver;-><init>()V
    iput-object v0, p0, Landroid/content/Context;->resolver:Landroid/content/ContentResolver;
    return-void
.end method

# No-argument form (an Activity's): assets from the directory in system property hb.assets.
.method public constructor <init>()V
    .locals 2
    new-instance v0, Ljava/io/File;
    const-string v1, "hb.assets"
    invoke-static {v1}, Ljava/lang/System;->getProperty(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1
    if-nez v1, :have
    const-string v1, "."
    :have
    invoke-direct {v0, v1}, Ljava/io/File;-><init>(Ljava/lang/String;)V
    invoke-direct {p0, v0}, Landroid/content/Context;-><init>(Ljava/io/File;)V
    return-void
.end method

.method public getAssets()Landroid/content/res/AssetManager;
    .locals 1
    iget-object v0, p0, Landroid/content/Context;->assets:Landroid/content/res/AssetManager;
    return-object v0
.end method

.method public getContentResolver()Landroid/content/ContentResolver;
    .locals 1
    iget-object v0, p0, Landroid/content/Context;->resolver:Landroid/content/ContentResolver;
    return-object v0
.end method
