/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test-only hooks into SiglensClassifier. The app never includes this header; tests use it to
 * hold a job at a known point (so "superseded while running" is a fact, not a race) and to
 * count the jobs still alive.
 */
#pragma once

#include "siglens-classifier.h"

G_BEGIN_DECLS

/* Called on the worker thread at these points, with the job's serial (the order of requests):
 *   "load-progress"  in a model load, before a progress report is posted (`fraction` = it);
 *   "classify"       at the start of a classify job's work (`fraction` = 0).
 * The hook may block; the main thread keeps running. */
typedef void (*SiglensClassifierTestHook) (const char *point,
                                           guint       serial,
                                           double      fraction,
                                           gpointer    data);

void  siglens_classifier_set_test_hook      (SiglensClassifier         *self,
                                             SiglensClassifierTestHook  hook,
                                             gpointer                   data);

/* Requests (of every classifier) whose job has not been freed yet: a finished request's job
 * goes when its task does, so after the last callback this falls back to where it was. */
guint siglens_classifier_test_count_live_jobs (void);

G_END_DECLS
