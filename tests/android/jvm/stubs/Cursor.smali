# JVM test double of the android.database.Cursor interface (the members PlayerActivity uses).
.class public interface abstract Landroid/database/Cursor;
.super Ljava/lang/Object;

.method public abstract moveToFirst()Z
.end method

.method public abstract getString(I)Ljava/lang/String;
.end method

.method public abstract close()V
.end method
