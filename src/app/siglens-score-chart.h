/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SiglensScoreChart — one horizontal bar per label, best first, drawn with GtkSnapshot. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_SCORE_CHART (siglens_score_chart_get_type ())
G_DECLARE_FINAL_TYPE (SiglensScoreChart, siglens_score_chart, SIGLENS, SCORE_CHART, GtkWidget)

GtkWidget *siglens_score_chart_new (void);

/* Shows `n` labels with their probabilities (0..1, independent per label), sorted best first.
 * Labels already shown keep their bar and glide to the new value and rank. Copies the inputs. */
void  siglens_score_chart_set_scores (SiglensScoreChart  *self,
                                      const char *const  *labels,
                                      const float        *probabilities,
                                      guint               n);
void  siglens_score_chart_clear      (SiglensScoreChart  *self);

/* What the chart shows, in display order (best first). (transfer none) */
guint        siglens_score_chart_get_n_bars      (SiglensScoreChart *self);
const char  *siglens_score_chart_get_label       (SiglensScoreChart *self,
                                                  guint              index);
float        siglens_score_chart_get_probability (SiglensScoreChart *self,
                                                  guint              index);
/* The text screen readers hear for a bar, e.g. "cat, 93 percent". (transfer full) */
char        *siglens_score_chart_dup_bar_description (SiglensScoreChart *self,
                                                      guint              index);

G_END_DECLS
