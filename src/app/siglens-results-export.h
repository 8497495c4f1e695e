/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Results people keep: a table of image × label scores saved as CSV or JSON (the formats of
 * src/results/siglens-results.h, the same the CLI writes), and a chart copied to the clipboard
 * as text (a label and its percentage per line) and as a PNG picture, for slides.
 */
#pragma once

#include <adwaita.h>

#include "siglens-classifier.h"
#include "siglens-score-chart.h"

G_BEGIN_DECLS

typedef struct _SiglensResultsTable SiglensResultsTable;

/* `labels` in the order every row's scores follow. */
SiglensResultsTable *siglens_results_table_new   (const char        *model,
                                                  const char        *precision,
                                                  int                max_patches,
                                                  const char        *template,
                                                  gboolean           lowercase,
                                                  const char *const *labels);
void                 siglens_results_table_free  (SiglensResultsTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SiglensResultsTable, siglens_results_table_free)

/* One image: `scores` (labels in the table's order) or, when NULL, `error`. */
void                 siglens_results_table_add   (SiglensResultsTable *table,
                                                  const char          *image,
                                                  const SiglensScores *scores,
                                                  const char          *error);
guint                siglens_results_table_get_n_images (SiglensResultsTable *table);

/* CSV unless the file name ends in ".json". */
gboolean             siglens_results_table_save  (SiglensResultsTable *table,
                                                  GFile               *file,
                                                  GError             **error);

/* The save dialog (the portal's, in a sandbox); writes the table when accepted and says how it
 * went in `overlay`. Takes the table. */
void                 siglens_results_export_with_dialog (GtkWindow           *parent,
                                                         AdwToastOverlay     *overlay,
                                                         SiglensResultsTable *table);

/* "cat: 93%" per line, best first, as the chart shows them. (transfer full) */
char                *siglens_results_chart_text  (SiglensScoreChart *chart);
/* The chart on the clipboard as that text and as a picture of it. */
void                 siglens_results_copy_chart  (SiglensScoreChart *chart,
                                                  GdkClipboard      *clipboard);

G_END_DECLS
