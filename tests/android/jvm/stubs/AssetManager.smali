# JVM test double of android.content.res.AssetManager: the assets are the files under a directory.
.class public final Landroid/content/res/AssetManager;
.super Ljava/lang/Object;

.field private final root:Ljava/io/File;

.method public constructor <init>(Ljava/io/File;)V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Landroid/content/res/AssetManager;->root:Ljava/io/File;
    return-void
.end method

# Like the real one: FileNotFoundException (an IOException) for a missing asset.
.method public open(Ljava/lang/String;)Ljava/io/InputStream;
    .locals 2
    new-instance v0, Ljava/io/FileInputStream;
    new-instance v1, Ljava/io/File;
    iget-object p0, p0, Landroid/content/res/AssetManager;->root:Ljava/io/File;
    invoke-direct {v1, p0, p1}, Ljava/io/File;-><init>(Ljava/io/File;Ljava/lang/String;)V
    invoke-direct {v0, v1}, Ljava/io/FileInputStream;-><init>(Ljava/io/File;)V
    return-object v0
.end method

# Like the real one: an empty array (not null) for a folder that does not exist.
.method public list(Ljava/lang/String;)[Ljava/lang/String;
    .locals 2
    new-instance v0, Ljava/io/File;
    iget-object v1, p0, Landroid/content/res/AssetManager;->root:Ljava/io/File;
    invoke-direct {v0, v1, p1}, Ljava/io/File;-><init>(Ljava/io/File;Ljava/lang/String;)V
    invoke-virtual {v0}, Ljava/io/File;->list()[Ljava/lang/String;
    move-result-object v0
    if-nez v0, :done
    const/4 v0, 0x0
    new-array v0, v0, [Ljava/lang/String;
    :done
    return-object v0
.end method
