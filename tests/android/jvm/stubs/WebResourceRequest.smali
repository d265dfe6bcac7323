# JVM test double of the android.webkit.WebResourceRequest interface (methods AssetClient calls).
.class public interface abstract Landroid/webkit/WebResourceRequest;
.super Ljava/lang/Object;

.method public abstract getUrl()Landroid/net/Uri;
.end method

.method public abstract getMethod()Ljava/lang/String;
.end method
