// Everything a plugin includes.
#pragma once

#include "tlr/abi.h"
#include "tlr/augmenter.h"
#include "tlr/backbone.h"
#include "tlr/dataset.h"
#include "tlr/error.h"
#include "tlr/head.h"
#include "tlr/image_file.h"
#include "tlr/names.h"
#include "tlr/params.h"
#include "tlr/plugin.h"
#include "tlr/precision.h"
#include "tlr/registry.h"
#include "tlr/strategy.h"
