# JVM test double of the android.view.Menu interface.
.class public interface abstract Landroid/view/Menu;
.super Ljava/lang/Object;

.method public abstract add(IIILjava/lang/CharSequence;)Landroid/view/MenuItem;
.end method
