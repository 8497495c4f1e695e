/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-decode.h — turning image files into the 8-bit RGB the model core takes, exactly as
 * the reference pipeline does (transformers' load_image: PIL.ImageOps.exif_transpose, then
 * convert("RGB"): alpha dropped, not composited; palette and grayscale expanded).
 * Shared by siglens-cli and the app; uses GdkPixbuf, so it lives outside src/siglip/.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define SIGLENS_DECODE_ERROR (siglens_decode_error_quark ())

typedef enum {
  SIGLENS_DECODE_ERROR_EMPTY,     /* zero bytes / zero pixels */
  SIGLENS_DECODE_ERROR_CORRUPT,   /* not an image, a broken one, or a truncated PNG/JPEG */
  SIGLENS_DECODE_ERROR_TOO_LARGE, /* more pixels than the limit; refused before decoding */
  SIGLENS_DECODE_ERROR_UNSUPPORTED, /* a kind the reference cannot read, or reads otherwise
                                     * than GdkPixbuf can: refused by name (SVG, CMYK JPEG...) */
} SiglensDecodeError;

GQuark siglens_decode_error_quark (void);

typedef struct {
  guint8 *rgb;    /* width * height * 3 bytes, upright, alpha removed */
  int width;
  int height;
  gsize stride;   /* bytes per row */
  int original_width, original_height; /* as stored, before EXIF orientation */
} SiglensRgbImage;

/* max_pixels 0 = SIGLIP_DEFAULT_MAX_PIXELS (100 megapixels). Error messages name the file.
 * A missing or unreadable file is a G_IO_ERROR, and so is a cancelled decode
 * (G_IO_ERROR_CANCELLED: checked between reads and between the small pieces fed to the
 * loader, so a decode stops within a bounded amount of work); everything else a
 * SIGLENS_DECODE_ERROR. Animations give their first frame. */
SiglensRgbImage *siglens_decode_file (const char *path, gsize max_pixels, GError **error);
SiglensRgbImage *siglens_decode_gfile (GFile *file, GCancellable *cancellable, gsize max_pixels,
                                       GError **error);
/* `name` is used in error messages (e.g. "pasted image"). */
SiglensRgbImage *siglens_decode_bytes (GBytes *bytes, const char *name, gsize max_pixels,
                                       GError **error);
/* From an already decoded pixbuf (e.g. a dropped GdkTexture): orientation option applied,
 * alpha dropped. */
SiglensRgbImage *siglens_rgb_image_from_pixbuf (GdkPixbuf *pixbuf, GError **error);
void             siglens_rgb_image_free (SiglensRgbImage *image);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SiglensRgbImage, siglens_rgb_image_free)

/* For tests: called on the decoding thread after each piece the loader took, with the pixels
 * decoded so far in this decode, so a test can cancel at a known point and see whether another
 * piece follows. NULL (the default) calls nothing. */
typedef void (*SiglensDecodePieceHook) (GCancellable *cancellable, guint64 decoded_pixels,
                                        gpointer user_data);
void siglens_decode_set_piece_hook (SiglensDecodePieceHook hook, gpointer user_data);

G_END_DECLS
