#!/usr/bin/env perl
# test/arch/check_layers.pl — the layering of src/ checked from the code itself.
#
# src/ is built in floors (README "Layout"; the Makefile's CG_LAYERS): base,
# keys, format, consent, enforce, audit, and src/childguard.c on top; each floor may use only the
# floors below it, and no two files may depend on each other, even through
# others.  This script builds two graphs between the files of src/ and fails
# when either breaks that rule:
#
#   include graph  each `#include "x.h"` that names a header of src/;
#   call graph     each undefined symbol of a src/ object (nm, type U),
#                  resolved to the src/ object that defines it.
#
# A file and its header of the same name are one unit (catalog.c and
# catalog.h are "base/catalog"); a header without a .c is a unit of its own.
# It reports
#   (a) every cycle between units (a strongly connected component of more
#       than one unit), with the edges inside it;
#   (b) every edge from a unit to a unit on a higher floor;
#   (c) every .c or .h under src/ outside the floors (only src/childguard.c
#       may sit at the top), and a header name used in two floors (headers
#       are included by bare name, so it would be ambiguous);
#   (d) the README's "Layout" section not matching the tree: each floor's
#       bullet (- `src/FLOOR/`: ...) must name every .c file of the floor
#       and every header that has no .c, and nothing that is not there;
#   (e) a line of the exceptions file (test/arch/allowed_edges) whose edge
#       no longer exists, so a fixed fault cannot come back unnoticed.
# and prints each offending edge with where it comes from (the #include line
# or the symbols).  Exit 0 when all is well, 1 otherwise, 2 on a usage error.
#
# The objects must be built and up to date (test/run-check.sh builds first).
#
# Usage: perl test/arch/check_layers.pl [--src DIR] [--allow FILE]
#                                       [--readme FILE|none] [--verbose]
use strict;
use warnings;
use File::Basename qw(basename dirname);
use File::Find;
use Getopt::Long;

my $here = dirname(__FILE__);

# the floors, bottom first: the Makefile's CG_LAYERS (what it compiles)
my @FLOORS = qw(base keys format consent enforce audit);
if (open my $mk, '<', "$here/../../Makefile")
{
	while (<$mk>)
	{
		@FLOORS = split ' ', $1 if /^CG_LAYERS\s*=\s*(.*?)\s*$/;
	}
	close $mk;
}
my $TOP = 'childguard';        # src/childguard.c, the floor above all others

my $src = "$here/../../src";
my $allow_file = "$here/allowed_edges";
my $readme = "$here/../../README.md";
my $verbose = 0;
GetOptions('src=s' => \$src, 'allow=s' => \$allow_file, 'readme=s' => \$readme,
	'verbose' => \$verbose)
  or exit 2;
-d $src or die "check_layers: no directory $src\n";

my %floor_rank;
@floor_rank{@FLOORS} = (1 .. @FLOORS);
$floor_rank{$TOP} = @FLOORS + 1;

my @errors;
sub fail_with { push @errors, @_; }

# ---- the files and their units ----------------------------------------------
my (%unit_floor, %unit_files, %header_unit, %object_unit);
my @sources;
find({ no_chdir => 1, wanted => sub {
	return unless -f $_ && /\.[ch]$/;
	(my $rel = $File::Find::name) =~ s{^\Q$src\E/}{};
	push @sources, $rel;
} }, $src);

for my $rel (sort @sources)
{
	my ($floor, $unit);
	if ($rel eq "$TOP.c")
	{
		($floor, $unit) = ($TOP, $TOP);
	}
	elsif ($rel =~ m{^([^/]+)/([^/]+)\.[ch]$} && exists $floor_rank{$1} && $1 ne $TOP)
	{
		($floor, $unit) = ($1, "$1/$2");
	}
	else
	{
		fail_with("(c) src/$rel is outside the floors (src/{"
			. join(',', @FLOORS) . "}/ or src/$TOP.c)");
		next;
	}
	$unit_floor{$unit} = $floor;
	push @{ $unit_files{$unit} }, $rel;
	if ($rel =~ /\.h$/)
	{
		my $h = basename($rel);
		if (exists $header_unit{$h})
		{
			fail_with("(c) header $h is in two floors: $header_unit{$h} and $unit"
				. " (headers are included by bare name)");
		}
		$header_unit{$h} = $unit;
	}
	else
	{
		(my $o = $rel) =~ s/\.c$/.o/;
		$object_unit{$o} = $unit;
	}
}

# edges: $edge{$from}{$to} = [ reasons ]
my %edge;
sub add_edge
{
	my ($from, $to, $why) = @_;
	return if $from eq $to;
	push @{ $edge{$from}{$to} }, $why;
}

# ---- include graph -----------------------------------------------------------
for my $unit (sort keys %unit_files)
{
	for my $rel (@{ $unit_files{$unit} })
	{
		open my $fh, '<', "$src/$rel" or die "check_layers: $src/$rel: $!\n";
		while (my $line = <$fh>)
		{
			next unless $line =~ /^\s*#\s*include\s+"([^"]+)"/;
			my $inc = $1;
			my $to = $header_unit{ basename($inc) };
			next unless defined $to;    # a PostgreSQL or system header
			add_edge($unit, $to, "src/$rel:$. #include \"$inc\"");
		}
		close $fh;
	}
}

# ---- call graph ------------------------------------------------------------------
my $nm = $ENV{NM} || 'nm';
my (%defined_by, %undefined_in);
for my $o (sort keys %object_unit)
{
	my $path = "$src/$o";
	(my $c = $path) =~ s/\.o$/.c/;
	if (!-f $path)
	{
		fail_with("src/$o is missing: build first (make)");
		next;
	}
	if ((stat $c)[9] > (stat $path)[9])
	{
		fail_with("src/$o is older than its source: build first (make)");
		next;
	}
	open my $fh, '-|', $nm, '-P', $path or die "check_layers: cannot run $nm: $!\n";
	while (my $line = <$fh>)
	{
		my ($sym, $type) = split ' ', $line;
		next unless defined $type;
		if ($type eq 'U')
		{
			push @{ $undefined_in{$o} }, $sym;
		}
		elsif ($type =~ /^[TDBRGSCVW]$/)
		{
			$defined_by{$sym}{$o} = 1;
		}
	}
	close $fh or die "check_layers: $nm $path failed\n";
}
for my $o (sort keys %undefined_in)
{
	my %by;
	for my $sym (@{ $undefined_in{$o} })
	{
		next unless $defined_by{$sym};
		for my $def (keys %{ $defined_by{$sym} })
		{
			next if $def eq $o;
			push @{ $by{$def} }, $sym;
		}
	}
	for my $def (sort keys %by)
	{
		my @syms = sort @{ $by{$def} };
		my $list = join(', ', @syms > 6 ? (@syms[0 .. 5], '...') : @syms);
		add_edge($object_unit{$o}, $object_unit{$def}, "src/$o calls/uses $list");
	}
}

# ---- allowed exceptions (test/arch/allowed_edges: "from -> to  # why") ----------
my %allowed;
if (-f $allow_file)
{
	open my $fh, '<', $allow_file or die "check_layers: $allow_file: $!\n";
	while (my $line = <$fh>)
	{
		$line =~ s/#.*//;
		next unless $line =~ /\S/;
		if ($line =~ /^\s*(\S+)\s*->\s*(\S+)\s*$/)
		{
			$allowed{$1}{$2} = 1;
			print "check_layers: EXCEPTION allowed: $1 -> $2 (see $allow_file)\n";
		}
		else
		{
			die "check_layers: $allow_file:$.: not \"from -> to\"\n";
		}
	}
	close $fh;
}
sub is_allowed { my ($f, $t) = @_; return $allowed{$f} && $allowed{$f}{$t}; }

# an exception whose edge is gone must go too: it would let the fault back in
for my $from (sort keys %allowed)
{
	for my $to (sort keys %{ $allowed{$from} })
	{
		fail_with("(e) $allow_file allows $from -> $to, which no longer exists: delete that line")
		  unless $edge{$from} && $edge{$from}{$to};
	}
}

sub show_edge
{
	my ($from, $to) = @_;
	my $s = "    $from -> $to\n";
	$s .= "        $_\n" for @{ $edge{$from}{$to} };
	return $s;
}

# ---- (b) upward edges ------------------------------------------------------------
for my $from (sort keys %edge)
{
	for my $to (sort keys %{ $edge{$from} })
	{
		my ($rf, $rt) = ($floor_rank{ $unit_floor{$from} }, $floor_rank{ $unit_floor{$to} });
		next unless $rt > $rf;
		next if is_allowed($from, $to);
		fail_with("(b) upward dependency: floor $unit_floor{$from} uses floor $unit_floor{$to}\n"
			. show_edge($from, $to));
	}
}

# ---- (a) cycles: Tarjan's strongly connected components ----------------------------
{
	my ($index, @stack, %on, %idx, %low, @sccs) = (0);
	my $strong;
	$strong = sub {
		my ($v) = @_;
		$idx{$v} = $low{$v} = $index++;
		push @stack, $v;
		$on{$v} = 1;
		for my $w (sort keys %{ $edge{$v} || {} })
		{
			next if is_allowed($v, $w);
			if (!exists $idx{$w})
			{
				$strong->($w);
				$low{$v} = $low{$w} if $low{$w} < $low{$v};
			}
			elsif ($on{$w})
			{
				$low{$v} = $idx{$w} if $idx{$w} < $low{$v};
			}
		}
		if ($low{$v} == $idx{$v})
		{
			my @scc;
			my $w;
			do
			{
				$w = pop @stack;
				$on{$w} = 0;
				push @scc, $w;
			} while ($w ne $v);
			push @sccs, [ sort @scc ] if @scc > 1;
		}
	};
	for my $v (sort keys %unit_floor)
	{
		$strong->($v) unless exists $idx{$v};
	}
	for my $scc (@sccs)
	{
		my %in = map { $_ => 1 } @$scc;
		my $s = "(a) cycle between " . scalar(@$scc) . " files: " . join(' ', @$scc) . "\n";
		for my $from (@$scc)
		{
			for my $to (sort keys %{ $edge{$from} || {} })
			{
				$s .= show_edge($from, $to) if $in{$to} && !is_allowed($from, $to);
			}
		}
		fail_with($s);
	}
}

# ---- (d) the README's layout section ------------------------------------------------
if ($readme ne 'none')
{
	open my $fh, '<', $readme or die "check_layers: $readme: $!\n";
	my $text = do { local $/; <$fh> };
	close $fh;
	my ($layout) = $text =~ /^## Layout\n(.*?)(?=^## |\z)/ms;
	my %listed;    # floor => { name => 1 }
	if (!defined $layout)
	{
		fail_with("(d) $readme has no \"## Layout\" section");
	}
	else
	{
		# each bullet "- `src/FLOOR/`: ..." up to the next bullet or blank line
		while ($layout =~ /^- `src\/([^`]*)`(.*?)(?=^- |^\s*$|\z)/msg)
		{
			my ($where, $body) = ($1, $2);
			if ($where eq "$TOP.c")
			{
				$listed{$TOP}{"$TOP.c"} = 1;
				next;
			}
			(my $floor = $where) =~ s{/$}{};
			if (!exists $floor_rank{$floor} || $floor eq $TOP)
			{
				fail_with("(d) README layout names src/$where, which is not a floor");
				next;
			}
			$listed{$floor}{$_} = 1 for $body =~ /`([\w-]+\.[ch])`/g;
		}
		my %have;      # floor => { name => 1 }: .c files and headers without one
		for my $unit (keys %unit_files)
		{
			my $floor = $unit_floor{$unit};
			my @files = map { basename($_) } @{ $unit_files{$unit} };
			my @c = grep { /\.c$/ } @files;
			$have{$floor}{$_} = 1 for (@c ? @c : @files);
		}
		for my $floor (@FLOORS, $TOP)
		{
			my $where = $floor eq $TOP ? "src/$TOP.c" : "src/$floor/";
			for my $name (sort keys %{ $have{$floor} || {} })
			{
				fail_with("(d) README layout does not list $name under $where")
				  unless $listed{$floor}{$name};
			}
			for my $name (sort keys %{ $listed{$floor} || {} })
			{
				fail_with("(d) README layout lists $name under $where, which has no such file")
				  unless $have{$floor}{$name};
			}
		}
	}
}

if ($verbose)
{
	for my $from (sort keys %edge)
	{
		print "edge $from -> $_\n" for sort keys %{ $edge{$from} };
	}
}

my $nunits = keys %unit_floor;
my $nedges = 0;
$nedges += keys %{ $edge{$_} } for keys %edge;
if (@errors)
{
	print "check_layers: FAIL ($nunits files, $nedges dependencies)\n";
	print "$_\n" for @errors;
	exit 1;
}
print "check_layers: ok ($nunits files in " . scalar(@FLOORS) . " floors and src/$TOP.c,"
	. " $nedges dependencies, no cycle, none upward)\n";
exit 0;
