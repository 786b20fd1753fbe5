#include <stdio.h>
#include <turbojpeg.h>
#include <png.h>
