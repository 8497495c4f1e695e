/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>
#include <locale.h>

#include "siglens-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (SiglensApplication) application = NULL;

  setlocale (LC_ALL, "");
  /* SIGLENS_LOCALEDIR: the build tree's po/, for translations without installing, e.g.
   * `SIGLENS_LOCALEDIR=build/po LANGUAGE=zh_CN make run`; installs use LOCALEDIR. */
  const char *localedir = g_getenv ("SIGLENS_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = siglens_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}
