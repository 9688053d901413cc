/*
 * mkv/mkv.h - the whole public plugin ABI of mkv in one include.
 */
#ifndef MKV_MKV_H
#define MKV_MKV_H

#include <mkv/error.h>
#include <mkv/plugin.h>
#include <mkv/index.h>
#include <mkv/volume.h>

#endif
