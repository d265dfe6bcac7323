# JVM test double of the android.webkit.ValueCallback interface.
.class public interface abstract Landroid/webkit/ValueCallback;
.super Ljava/lang/Object;

.method public abstract onReceiveValue(Ljava/lang/Object;)V
.end method
