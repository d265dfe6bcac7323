# JVM test double of the android.os.Parcelable interface (Uri is one; Bundle stores them).
.class public interface abstract Landroid/os/Parcelable;
.super Ljava/lang/Object;
