/*
 * file.h: files written so that a crash never leaves half a file
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* utilWriteFileAtomic: replace `path` with `len` bytes of `data`, with
 * permissions `mode`: write a temporary file in the same directory, fsync
 * it, rename it over `path`, fsync the directory. Readers see the old or
 * the new content, never a mix. Reports a system error naming `path`. */
int utilWriteFileAtomic(const char *path, const char *data, size_t len,
                        mode_t mode);

/* utilWriteFileReplace: the same without the fsyncs: readers still see
 * the old or the new content, never a mix, but a crash of the host may
 * leave either (or, on some filesystems, an empty file). For files that
 * are a cache of state kept elsewhere. */
int utilWriteFileReplace(const char *path, const char *data, size_t len,
                         mode_t mode);

/* utilReadFile: read all of `path` (at most `maxlen` bytes, else an
 * error) into a new NUL-terminated *data. */
int utilReadFile(const char *path, size_t maxlen, char **data);

/* utilMakeDir: create `path` and its parents with `mode` if missing. */
int utilMakeDir(const char *path, mode_t mode);
