# JVM test double of android.content.ActivityNotFoundException (a RuntimeException, caught by PlayerActivity).
.class public Landroid/content/ActivityNotFoundException;
.super Ljava/lang/RuntimeException;

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Ljava/lang/RuntimeException;-><init>()V
    return-void
.end method
