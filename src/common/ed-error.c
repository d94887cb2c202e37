/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ed-error.h"

G_DEFINE_QUARK (ed-error-quark, ed_error)
