/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SiglensScoreChart — one horizontal bar per label, best first, drawn with GtkSnapshot. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* What a bar's length and number say. */
typedef enum {
  SIGLENS_SCORE_VIEW_PROBABILITY, /* SigLIP's own: each label's independent probability */
  SIGLENS_SCORE_VIEW_SHARE,       /* each probability divided by their sum: adds up to 100% */
} SiglensScoreView;

GType siglens_score_view_get_type (void);
#define SIGLENS_TYPE_SCORE_VIEW (siglens_score_view_get_type ())

#define SIGLENS_TYPE_SCORE_CHART (siglens_score_chart_get_type ())
G_DECLARE_FINAL_TYPE (SiglensScoreChart, siglens_score_chart, SIGLENS, SCORE_CHART, GtkWidget)

GtkWidget *siglens_score_chart_new (void);

/* Shows `n` labels with their probabilities (0..1, independent per label), sorted best first
 * (the same order in both views).
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
/* The value the bar shows in the current view (0..1), and its number in percent. In the share
 * view the percentages are rounded so that they add up to exactly 100. */
float        siglens_score_chart_get_shown_value (SiglensScoreChart *self,
                                                  guint              index);
int          siglens_score_chart_get_shown_percent (SiglensScoreChart *self,
                                                    guint              index);

void             siglens_score_chart_set_view (SiglensScoreChart *self,
                                               SiglensScoreView   view);
SiglensScoreView siglens_score_chart_get_view (SiglensScoreChart *self);
/* One sentence under the chart saying what the numbers are. (transfer none) */
const char      *siglens_score_chart_get_footnote (SiglensScoreChart *self);

/* Thick bars and room for projector-sized type (style.css sizes the text). */
void             siglens_score_chart_set_presentation (SiglensScoreChart *self,
                                                       gboolean           presentation);
gboolean         siglens_score_chart_get_presentation (SiglensScoreChart *self);
/* The text screen readers hear for a bar, e.g. "cat, 93 percent". (transfer full) */
char        *siglens_score_chart_dup_bar_description (SiglensScoreChart *self,
                                                      guint              index);
/* Marks the bars as out of date (dimmed) while new scores are on their way. */
void         siglens_score_chart_set_stale       (SiglensScoreChart *self,
                                                  gboolean           stale);
gboolean     siglens_score_chart_get_stale       (SiglensScoreChart *self);

G_END_DECLS
