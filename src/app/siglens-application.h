/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_APPLICATION (siglens_application_get_type ())
G_DECLARE_FINAL_TYPE (SiglensApplication, siglens_application, SIGLENS, APPLICATION,
                      AdwApplication)

SiglensApplication *siglens_application_new (void);

/* Registers the bundled GResource (templates, CSS, shortcuts) once; safe to call repeatedly. */
void                siglens_ensure_resources (void);

G_END_DECLS
