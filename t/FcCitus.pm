# FcCitus.pm: a Citus cluster for the TAP tests t/04*_citus*.pl.
#
# citus_cluster() skips the test unless FC_CITUS_PREFIX names a private
# installation with Citus, as `tools/citus-cluster build CITUS_SRC PREFIX`
# makes it (README.md, "Citus").  It copies the flowcontrol under test (the
# installation of the pg_config on PATH) into that prefix and starts a
# coordinator and two workers from it, listening on 127.0.0.1, preloading
# citus and flowcontrol, joined, with CREATE EXTENSION citus and
# flowcontrol done (Citus propagates the latter).
package FcCitus;

use strict;
use warnings;

use File::Copy;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Exporter 'import';
our @EXPORT = qw(citus_cluster);

sub pg_config
{
	my ($which, $opt) = @_;
	my $out = `$which $opt`;
	chomp $out;
	return $out;
}

# Each file is written anew and renamed into place: a server of
# tools/citus-cluster may have the old library mapped.
sub install_file
{
	my ($file, $dir) = @_;
	my $dest = $dir . '/' . ($file =~ s{.*/}{}r);
	copy($file, "$dest.tmp$$") or die "copy $file: $!";
	chmod((stat $file)[2] & 07777, "$dest.tmp$$");
	rename("$dest.tmp$$", $dest) or die "rename to $dest: $!";
	return;
}

# The installation to start the nodes from, with this flowcontrol in it.
sub citus_install
{
	my $prefix = $ENV{FC_CITUS_PREFIX};
	plan skip_all => 'FC_CITUS_PREFIX is not set (see README.md, "Citus")'
	  unless $prefix;

	my @found;
	find(sub { push @found, $File::Find::name
				 if $_ eq 'pg_config' && $File::Find::dir =~ m{/bin$} }, $prefix);
	die "no bin/pg_config under FC_CITUS_PREFIX=$prefix" unless @found == 1;
	my $citus = $found[0];
	die "FC_CITUS_PREFIX is another PostgreSQL version"
	  unless pg_config($citus, '--version') eq pg_config('pg_config', '--version');
	die "no Citus in FC_CITUS_PREFIX=$prefix"
	  unless -f pg_config($citus, '--pkglibdir') . '/citus.so';

	install_file(pg_config('pg_config', '--pkglibdir') . '/flowcontrol.so',
		pg_config($citus, '--pkglibdir'));
	install_file($_, pg_config($citus, '--sharedir') . '/extension')
	  for glob(pg_config('pg_config', '--sharedir') . '/extension/flowcontrol*');
	return pg_config($citus, '--bindir') =~ s{/bin$}{}r;
}

sub citus_node
{
	my ($install, $name, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name, install_path => $install);
	$node->init;
	my %settings = (
		listen_addresses => "'127.0.0.1'",
		shared_preload_libraries => "'citus, flowcontrol'",
		'flowcontrol.database' => "'postgres'",
		'flowcontrol.poll_interval' => "'10min'",
		%$conf);
	$node->append_conf('postgresql.conf',
		join('', map { "$_ = $settings{$_}\n" } sort keys %settings));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	return $node;
}

# ($coordinator, $worker1, $worker2); settings for postgresql.conf of the
# coordinator and of the workers
sub citus_cluster
{
	my ($coord_conf, $worker_conf) = @_;
	my $install = citus_install();
	my $coord = citus_node($install, 'coord', $coord_conf // {});
	my @workers = map { citus_node($install, $_, $worker_conf // {}) } ('w1', 'w2');
	$coord->safe_psql('postgres', sprintf(
		"SELECT citus_set_coordinator_host('127.0.0.1', %d);", $coord->port)
		  . join('', map { sprintf("SELECT citus_add_node('127.0.0.1', %d);", $_->port) } @workers)
		  . 'CREATE EXTENSION flowcontrol;');
	return ($coord, @workers);
}

1;
