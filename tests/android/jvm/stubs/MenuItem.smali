# JVM test double of the android.view.MenuItem interface.
.class public interface abstract Landroid/view/MenuItem;
.super Ljava/lang/Object;

.method public abstract getItemId()I
.end method

.method public abstract setShowAsAction(I)V
.end method
