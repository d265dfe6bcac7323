# main(class names): loads, links and initialises each class, so the JVM verifies its bytecode;
# prints "ok <name>" per class, or the error (a VerifyError names the method and the offset).
.class public final Lorg/headbake/test/LinkProbe;
.super Ljava/lang/Object;

.method public static main([Ljava/lang/String;)V
    .locals 7
    sget-object v0, Ljava/lang/System;->out:Ljava/io/PrintStream;
    const-class v1, Lorg/headbake/test/LinkProbe;
    invoke-virtual {v1}, Ljava/lang/Class;->getClassLoader()Ljava/lang/ClassLoader;
    move-result-object v1
    const/4 v2, 0x0
    array-length v3, p0
    :loop
    if-ge v2, v3, :end
    aget-object v4, p0, v2
    :try_start
    const/4 v5, 0x1
    invoke-static {v4, v5, v1}, Ljava/lang/Class;->forName(Ljava/lang/String;ZLjava/lang/ClassLoader;)Ljava/lang/Class;
    new-instance v5, Ljava/lang/StringBuilder;
    const-string v6, "ok "
    invoke-direct {v5, v6}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v5, v4}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v5}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v5
    invoke-virtual {v0, v5}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    :try_end
    .catch Ljava/lang/Throwable; {:try_start .. :try_end} :failed
    goto :next
    :failed
    move-exception v5
    new-instance v6, Ljava/lang/StringBuilder;
    invoke-direct {v6}, Ljava/lang/StringBuilder;-><init>()V
    invoke-virtual {v6, v4}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v4, ": "
    invoke-virtual {v6, v4}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v6, v5}, Ljava/lang/StringBuilder;->append(Ljava/lang/Object;)Ljava/lang/StringBuilder;
    invoke-virtual {v6}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v4
    invoke-virtual {v0, v4}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    :next
    add-int/lit8 v2, v2, 0x1
    goto :loop
    :end
    return-void
.end method
